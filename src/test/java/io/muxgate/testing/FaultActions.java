package io.muxgate.testing;

import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletionStage;

/** The built-in {@link FaultAction}s. */
public final class FaultActions {

    /** HTTP/2 error codes used by the actions and handy in assertions. */
    public static final long NO_ERROR = 0x0;
    public static final long PROTOCOL_ERROR = 0x1;
    public static final long INTERNAL_ERROR = 0x2;
    public static final long REFUSED_STREAM = 0x7;
    public static final long CANCEL = 0x8;

    private FaultActions() {
    }

    /** Answer normally once the request (including its body) has arrived. */
    public static FaultAction respond(CannedResponse response) {
        return exchange -> exchange.respond(response);
    }

    public static FaultAction ok(String body) {
        return respond(CannedResponse.ok(body));
    }

    /** Answer normally, but only {@code delay} after the request arrived. */
    public static FaultAction respondAfter(Duration delay, CannedResponse response) {
        return exchange -> exchange.schedule(delay, () -> exchange.respond(response));
    }

    /**
     * "Park" the stream: answer only when the test completes {@code release}. Sharing one future
     * across requests holds many streams open at once and lets them all go together.
     */
    public static FaultAction respondWhenReleased(CompletionStage<?> release, CannedResponse response) {
        return exchange -> release.whenComplete((ignored, error) -> exchange.respond(response));
    }

    /**
     * Send GOAWAY(lastStreamId) now. This stream is answered with {@code response} if its id is within
     * {@code lastStreamId}; otherwise it is never answered (Netty also drops later streams above it).
     * Streams the policy answers keep going; the connection closes once no stream is active.
     */
    public static FaultAction goAway(int lastStreamId, CannedResponse response) {
        return exchange -> {
            exchange.goAway(lastStreamId, NO_ERROR);
            if (exchange.streamId() <= lastStreamId) {
                exchange.respond(response);
            }
        };
    }

    /** RST_STREAM with {@code errorCode} as soon as the HEADERS frame arrives. */
    public static FaultAction reset(long errorCode) {
        return exchange -> exchange.reset(errorCode);
    }

    /** RST_STREAM(REFUSED_STREAM): the request was not processed and is safe to retry. */
    public static FaultAction refuseStream() {
        return reset(REFUSED_STREAM);
    }

    /** Send the response HEADERS, then nothing: no DATA and no END_STREAM, ever. */
    public static FaultAction headersThenStall(int status) {
        return exchange -> exchange.whenRequestComplete(() -> exchange.sendHeaders(status, false));
    }

    /** Send HEADERS and the first {@code bytesBeforeClose} body bytes, then close the TCP connection. */
    public static FaultAction partialBodyThenClose(CannedResponse response, int bytesBeforeClose) {
        byte[] prefix = Arrays.copyOf(response.body(), Math.min(bytesBeforeClose, response.body().length));
        return exchange -> exchange.whenRequestComplete(() -> {
            exchange.sendHeaders(response.status(), false);
            exchange.sendData(prefix, false);
            exchange.closeConnection();
        });
    }

    /** Close the TCP connection as soon as the HEADERS frame arrives, without any response. */
    public static FaultAction closeConnection() {
        return OriginExchange::closeConnection;
    }

    /** Reset the TCP connection as soon as the HEADERS frame arrives, without any response. */
    public static FaultAction resetConnection() {
        return OriginExchange::resetConnection;
    }

    /** A DATA frame on stream 0: a connection-level PROTOCOL_ERROR the client must react to. */
    public static FaultAction dataFrameOnStreamZero() {
        byte[] frame = {
            0, 0, 4,        // payload length
            0x0,            // type DATA
            0x0,            // flags
            0, 0, 0, 0,     // stream id 0: illegal for DATA
            'o', 'o', 'p', 's'
        };
        return exchange -> exchange.writeRawBytes(frame);
    }

    /** A response HEADERS frame with an upper-case header name, which HTTP/2 forbids (malformed). */
    public static FaultAction invalidResponseHeader() {
        return exchange -> exchange.whenRequestComplete(
                () -> exchange.sendUnvalidatedHeaders(200, "Bad-Upper-Case", "x", true));
    }

    /** Do nothing: the stream stays open until the client gives up. */
    public static FaultAction neverAnswer() {
        return exchange -> { };
    }
}
