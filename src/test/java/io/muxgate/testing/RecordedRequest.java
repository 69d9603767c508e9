package io.muxgate.testing;

import java.util.List;
import java.util.Map;

/**
 * One request as the {@link FaultOrigin} saw it when its HEADERS frame arrived. It is also what a
 * {@link FaultPolicy} decides on, so the numbering fields are what make "fail only the Nth request"
 * policies easy to write.
 *
 * @param connectionIndex 0-based index of the TCP connection, in accept order
 * @param requestNumberOnConnection 1-based number of this request on its connection
 * @param attemptForPath 1-based count of requests for this path across all connections (1 = first attempt)
 * @param streamId HTTP/2 stream id the client chose
 * @param method value of :method
 * @param path value of :path
 * @param authority value of :authority (may be null)
 * @param headers every header, pseudo-headers included, in arrival order (names lower-case)
 */
public record RecordedRequest(
        int connectionIndex,
        int requestNumberOnConnection,
        int attemptForPath,
        int streamId,
        String method,
        String path,
        String authority,
        List<Map.Entry<String, String>> headers) {

    public RecordedRequest {
        headers = List.copyOf(headers);
    }

    /** First value of a header (case-insensitive name), or null. */
    public String header(String name) {
        for (Map.Entry<String, String> header : headers) {
            if (header.getKey().equalsIgnoreCase(name)) {
                return header.getValue();
            }
        }
        return null;
    }
}
