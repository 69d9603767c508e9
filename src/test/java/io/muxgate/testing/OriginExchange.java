package io.muxgate.testing;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Controls for one request stream, handed to a {@link FaultAction}. Every method may be called from
 * any thread (e.g. when a test completes a future); the work always runs on the connection's event loop.
 */
public final class OriginExchange {

    private final FaultConnectionHandler connection;
    private final Http2FrameStream stream;
    private final RecordedRequest request;
    // Touched only on the event loop.
    private boolean requestComplete;
    private final List<Runnable> waitingForRequestBody = new ArrayList<>();

    OriginExchange(FaultConnectionHandler connection, Http2FrameStream stream, RecordedRequest request,
                   boolean requestComplete) {
        this.connection = connection;
        this.stream = stream;
        this.request = request;
        this.requestComplete = requestComplete;
    }

    public RecordedRequest request() {
        return request;
    }

    public int streamId() {
        return stream.id();
    }

    /** Sends the full response once the request body has arrived (HTTP/2 allows earlier, real origins rarely do). */
    public void respond(CannedResponse response) {
        whenRequestComplete(() -> {
            boolean hasBody = response.body().length > 0;
            boolean hasTrailers = !response.trailers().isEmpty();
            Http2Headers headers = new DefaultHttp2Headers().status(Integer.toString(response.status()));
            response.headers().forEach(h -> headers.add(h.getKey(), h.getValue()));
            connection.write(new DefaultHttp2HeadersFrame(headers, !hasBody && !hasTrailers).stream(stream));
            if (hasBody) {
                connection.write(new DefaultHttp2DataFrame(Unpooled.wrappedBuffer(response.body()), !hasTrailers)
                        .stream(stream));
            }
            if (hasTrailers) {
                Http2Headers trailers = new DefaultHttp2Headers();
                response.trailers().forEach(h -> trailers.add(h.getKey(), h.getValue()));
                connection.write(new DefaultHttp2HeadersFrame(trailers, true).stream(stream));
            }
            connection.flush();
        });
    }

    /** Runs {@code step} on the event loop once the client has sent END_STREAM for the request. */
    public void whenRequestComplete(Runnable step) {
        onEventLoop(() -> {
            if (requestComplete) {
                step.run();
            } else {
                waitingForRequestBody.add(step);
            }
        });
    }

    public void sendHeaders(int status, boolean endStream) {
        onEventLoop(() -> {
            Http2Headers headers = new DefaultHttp2Headers().status(Integer.toString(status));
            connection.writeAndFlush(new DefaultHttp2HeadersFrame(headers, endStream).stream(stream));
        });
    }

    /** Response HEADERS with one extra header whose name is not validated (to send malformed ones). */
    public void sendUnvalidatedHeaders(int status, String name, String value, boolean endStream) {
        onEventLoop(() -> {
            Http2Headers headers = new DefaultHttp2Headers(false).status(Integer.toString(status));
            headers.add(name, value);
            connection.writeAndFlush(new DefaultHttp2HeadersFrame(headers, endStream).stream(stream));
        });
    }

    public void sendData(byte[] bytes, boolean endStream) {
        byte[] copy = bytes.clone();
        onEventLoop(() -> connection.writeAndFlush(
                new DefaultHttp2DataFrame(Unpooled.wrappedBuffer(copy), endStream).stream(stream)));
    }

    public void reset(long errorCode) {
        onEventLoop(() -> connection.writeAndFlush(new DefaultHttp2ResetFrame(errorCode).stream(stream)));
    }

    /** GOAWAY for the whole connection; the connection then closes once no stream is active. */
    public void goAway(int lastStreamId, long errorCode) {
        onEventLoop(() -> connection.goAway(lastStreamId, errorCode));
    }

    /** Flushes what was written so far, then closes the TCP connection without an HTTP/2 goodbye. */
    public void closeConnection() {
        onEventLoop(connection::closeAbruptly);
    }

    /** Closes the TCP connection with a reset, without an HTTP/2 goodbye. */
    public void resetConnection() {
        onEventLoop(connection::closeWithReset);
    }

    /** Bytes straight onto the connection (under TLS, if any), bypassing the HTTP/2 codec. */
    public void writeRawBytes(byte[] bytes) {
        byte[] copy = bytes.clone();
        onEventLoop(() -> connection.writeRaw(copy));
    }

    /** A SETTINGS frame for the whole connection. */
    public void sendSettings(Http2Settings settings) {
        onEventLoop(() -> connection.sendSettings(settings));
    }

    public void schedule(Duration delay, Runnable step) {
        connection.executor().schedule(step, delay.toNanos(), TimeUnit.NANOSECONDS);
    }

    public void onEventLoop(Runnable step) {
        if (connection.executor().inEventLoop()) {
            step.run();
        } else {
            connection.executor().execute(step);
        }
    }

    void requestBodyComplete() {
        requestComplete = true;
        List<Runnable> steps = new ArrayList<>(waitingForRequestBody);
        waitingForRequestBody.clear();
        steps.forEach(Runnable::run);
    }

    static List<Map.Entry<String, String>> headerList(Http2Headers headers) {
        List<Map.Entry<String, String>> list = new ArrayList<>();
        headers.forEach(h -> list.add(Map.entry(h.getKey().toString(), h.getValue().toString())));
        return list;
    }
}
