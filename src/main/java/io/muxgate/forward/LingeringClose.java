package io.muxgate.forward;

import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Stream;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.http.HttpServerRequestInternal;
import io.vertx.core.net.impl.ConnectionBase;

import java.util.concurrent.TimeUnit;

/**
 * Closes an HTTP/1.x client connection once the response is sent, so an unread body is not read as a next
 * request (HTTP/2 resets just the stream, and a Connection header there would make the response malformed).
 */
public final class LingeringClose {

  /** How long a connection closing after a response keeps reading what the client still sends. */
  public static final long LINGER_MS = 2000;
  /**
   * The longest the body of an HTTP/2 upload answered early is read and dropped while it keeps flowing:
   * nginx's {@code lingering_time}. {@code -Dmuxgate.early_answer_drain_s} shortens it for tests.
   */
  public static final long EARLY_ANSWER_DRAIN_NANOS =
    TimeUnit.SECONDS.toNanos(Long.getLong("muxgate.early_answer_drain_s", 30));

  private LingeringClose() {
  }

  /**
   * From now on the connection reads no further request, as after a refused head, whose framing is in
   * doubt; it closes once the response is sent.
   */
  static void afterResponse(Downstream client) {
    close(client, false);
  }

  /**
   * The connection closes once a response that may stream on for long is sent: the linger starts from the
   * response's end, as from now it would cut a body still streaming.
   */
  static void afterStreamedResponse(Downstream client) {
    close(client, true);
  }

  private static void close(Downstream client, boolean onceEnded) {
    if (client.version() != HttpVersion.HTTP_2) {
      if (!client.headWritten()) {
        client.responseHeaders().set(HttpHeaders.CONNECTION, "close");
      }
      HttpServerRequest request = client.vertxRequest();
      if (request != null) {
        HttpServerResponse response = request.response();
        if (!response.headWritten()) {
          // Vert.x sets keep-alive over it, as the head goes out, for an HTTP/1.0 client that asked for it
          response.headersEndHandler(v -> response.headers().set(HttpHeaders.CONNECTION, "close"));
        }
        if (onceEnded && !response.ended()) {
          response.endHandler(v -> linger(request));
        } else {
          linger(request);
        }
      }
    }
  }

  /**
   * The response on one of Vert.x's HTTP/2 server streams is over while the request's body is still due (an
   * upload answered early, by the origin or the proxy), or, after a final answer to
   * {@code expect: 100-continue}, may never come. A client that sends none of it for LINGER_MS after the
   * response's END_STREAM went out is told to stop with RST_STREAM(NO_ERROR) (RFC 9113, section 8.1), as an
   * HTTP/1.x connection closes then; left alone, a client that neither sends nor resets would hold the stream,
   * one of the connection's concurrent streams, and the connection, which would never go idle. Not at once:
   * curl 7.88, waiting for a 100 (Continue), drops a final answer closely followed by the reset ("Empty reply
   * from server"). A body still flowing is read and dropped to its end instead, for EARLY_ANSWER_DRAIN_NANOS
   * at most: Vert.x's reset has no {@code frontend.ResetFence}, so each DATA frame in flight draws an
   * RST_STREAM(STREAM_CLOSED) counted against the connection's reset allowance. The front end's own streams
   * are reset by {@code frontend.FrontRequest}.
   */
  static void afterEarlyResponse(HttpServerRequest request) {
    ContextInternal context = ((HttpServerRequestInternal) request).context();
    long read = request.bytesRead();
    long drainEnds = System.nanoTime() + EARLY_ANSWER_DRAIN_NANOS;
    context.setTimer(LINGER_MS, id -> resetIfSilent(request, read, drainEnds, context));
  }

  /** {@code readBefore}: the body's bytes read when the timer was set; {@code drainEnds}: System.nanoTime. */
  private static void resetIfSilent(HttpServerRequest request, long readBefore, long drainEnds,
                                    ContextInternal context) {
    if (request.isEnded() || !(request.connection() instanceof ConnectionBase connection)) {
      return;
    }
    Http2ConnectionHandler codec = connection.channel().pipeline().get(Http2ConnectionHandler.class);
    Http2Stream stream = codec == null ? null : codec.connection().stream(request.streamId());
    if (stream == null) {
      return;
    }
    long read = request.bytesRead();
    if (stream.state() == Http2Stream.State.HALF_CLOSED_LOCAL
      && (read == readBefore || System.nanoTime() - drainEnds >= 0)) {
      request.response().reset(Http2Error.NO_ERROR.code());
    } else if (stream.state() == Http2Stream.State.HALF_CLOSED_LOCAL || stream.state() == Http2Stream.State.OPEN) {
      // The body still flows, or the response's end still waits for the client's window (a reset would drop it).
      context.setTimer(LINGER_MS, id -> resetIfSilent(request, read, drainEnds, context));
    }
  }

  /**
   * Vert.x's server then closes once both the response and the request are over, reading and dropping the
   * body's rest meanwhile, and after LINGER_MS at the latest. Closed at once, a socket with unread bytes is
   * reset by the kernel, and the client may lose the response still in its buffers.
   */
  private static void linger(HttpServerRequest request) {
    request.connection().shutdown(LINGER_MS, TimeUnit.MILLISECONDS);
  }
}
