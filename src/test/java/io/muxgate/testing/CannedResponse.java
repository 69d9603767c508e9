package io.muxgate.testing;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A complete response the origin can send: status, headers, body and optional trailers.
 * Immutable; the {@code with...} methods return modified copies.
 */
public record CannedResponse(
        int status,
        List<Map.Entry<String, String>> headers,
        byte[] body,
        List<Map.Entry<String, String>> trailers) {

    public CannedResponse {
        headers = List.copyOf(headers);
        body = body.clone();
        trailers = List.copyOf(trailers);
    }

    public static CannedResponse of(int status, String body) {
        return new CannedResponse(status, List.of(), body.getBytes(StandardCharsets.UTF_8), List.of());
    }

    public static CannedResponse ok(String body) {
        return of(200, body);
    }

    public static CannedResponse status(int status) {
        return new CannedResponse(status, List.of(), new byte[0], List.of());
    }

    public CannedResponse withHeader(String name, String value) {
        return new CannedResponse(status, append(headers, name, value), body, trailers);
    }

    public CannedResponse withTrailer(String name, String value) {
        return new CannedResponse(status, headers, body, append(trailers, name, value));
    }

    public CannedResponse withBody(byte[] newBody) {
        return new CannedResponse(status, headers, newBody, trailers);
    }

    @Override
    public byte[] body() {
        return body.clone();
    }

    private static List<Map.Entry<String, String>> append(List<Map.Entry<String, String>> list,
                                                          String name, String value) {
        List<Map.Entry<String, String>> copy = new ArrayList<>(list);
        copy.add(Map.entry(name, value));
        return copy;
    }
}
