package io.muxgate.origin;

import io.vertx.core.http.HttpClientConnection;
import io.vertx.core.http.HttpMethod;

import java.util.Set;

/**
 * The right to run one stream on one origin connection. {@link #release()} must be called exactly once,
 * when the exchange is over (ended, failed or reset); extra calls are ignored.
 */
public final class Lease {

  /** RFC 9110 §9.2.2: requests with these methods may be repeated after a connection failure. */
  private static final Set<HttpMethod> IDEMPOTENT = Set.of(HttpMethod.GET, HttpMethod.HEAD, HttpMethod.OPTIONS,
    HttpMethod.TRACE, HttpMethod.PUT, HttpMethod.DELETE);

  private final OriginPool pool;
  final OriginConnection origin;
  private final boolean reused;
  private boolean released;
  /** The stream run under this lease was refused by the origin. */
  private boolean refused;

  Lease(OriginPool pool, OriginConnection origin, boolean reused) {
    this.pool = pool;
    this.origin = origin;
    this.reused = reused;
  }

  public HttpClientConnection connection() {
    return origin.connection;
  }

  /**
   * Muxgate's own HTTP/2 streams on this connection, or null (HTTP/1.1, or the codec out of reach):
   * usable only from {@link FrameStreams#inLoop() the connection's loop}.
   */
  public FrameStreams frames() {
    return origin.frames;
  }

  /** Whether the connection speaks HTTP/2, each stream framed on its own. */
  public boolean isH2() {
    return origin.isH2();
  }

  public String protocol() {
    return origin.protocol;
  }

  public int localPort() {
    return origin.localPort;
  }

  public OriginPool pool() {
    return pool;
  }

  /**
   * Classifies a failure of the stream run under this lease, using what only the connection knows:
   * whether the origin sent GOAWAY and with which last-stream-id, and whether it had already served a
   * stream (a reused connection that closes before any response byte never processed the request);
   * and, from the request, whether its method is idempotent.
   * A failure that shows the connection is gone also stops the pool giving it new streams at once,
   * before its close is even processed, so that a replay cannot land on it; so does an invalid response
   * on HTTP/1.1, which leaves the connection's framing lost (a 101 nobody asked for is followed by
   * another protocol's bytes) until the close Vert.x makes of it.
   *
   * @param stream the attempt's origin stream, or null if none was opened
   * @param responseStarted whether any response byte arrived
   */
  public OriginFailure classify(Throwable cause, OriginStream stream, HttpMethod method, boolean responseStarted) {
    int streamId = stream == null ? OriginFailure.NO_STREAM : origin.isH2() ? stream.sentId() : 0;
    OriginFailure failure = OriginFailure.classifyStream(cause, streamId, origin.goAwayLastStreamId(),
      reused, responseStarted, stream != null && IDEMPOTENT.contains(method));
    refused |= failure.refusedStream();
    if (failure.connectionGone() || failure.kind().invalidResponse() && !origin.isH2()) {
      pool.drain(origin);
    }
    return failure;
  }

  /** Marks the connection as not to be given new streams, e.g. after it failed a stream unprocessed. */
  public void retireConnection() {
    pool.drain(origin);
  }

  /**
   * The proxy reset its stream on this connection. An HTTP/2 connection that has spent its budget of
   * resets ({@link OriginConnection#RESET_BUDGET}) takes no new streams and closes when the last one
   * ends. An HTTP/1.x connection is closed at once: the origin would read the next request as the rest of
   * this one, and Vert.x, which closes it too, first waits to send the body it still holds, forever if
   * the origin stopped reading, while the pool would hand the connection on.
   */
  public void resetSent() {
    if (!origin.isH2()) {
      pool.abort(origin);
    } else if (origin.resetSent(System.nanoTime())) {
      pool.drain(origin);
    }
  }

  public void release() {
    if (!released) {
      released = true;
      pool.release(origin, refused);
    }
  }
}
