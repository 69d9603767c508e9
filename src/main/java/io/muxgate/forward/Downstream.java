package io.muxgate.forward;

import io.netty.handler.codec.http2.Http2Headers;
import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.HostAndPort;

/**
 * The client's side of one exchange: the request as read and the response written back. Vert.x's
 * server request is one ({@link VertxDownstream}); an HTTP/2 stream the front end runs on Netty's codec
 * is the other. All calls happen on the connection's event loop.
 */
public interface Downstream {

  /** What the request body does, in order: data, then its end or a failure (reset, connection gone). */
  interface Events {

    void onData(Buffer chunk);

    void onEnd();

    /** The client reset the stream or the connection went away; {@code cause} may be null. */
    void onFailure(Throwable cause);

    /**
     * The body broke HTTP/1.1's framing (a chunk size that is not hex, a chunk without its CRLF): nothing
     * after it can be read, and the connection closes once this returns.
     */
    default void onMalformedBody(Throwable cause) {
      onFailure(cause);
    }

    /**
     * A body chunk came while the process already holds all the upload bytes it may ({@link HeldBytes}):
     * the chunk was dropped, so the body cannot go on.
     */
    default void onOverBudget() {
      onFailure(null);
    }
  }

  // ---- the request --------------------------------------------------------------------------------

  HttpMethod method();

  HttpVersion version();

  /**
   * The version the request came in, which its {@code via} entry names (RFC 9110, section 7.6.3): that of
   * the connection, but for the first request of an h2c Upgrade, sent in HTTP/1.1 and answered in HTTP/2.
   */
  default HttpVersion receivedVersion() {
    return version();
  }

  /** The request target in origin form (path and query), as the origin gets it before route rewriting. */
  String uri();

  /** The request target as the client sent it: differs from {@link #uri} for an absolute-form one. */
  default String target() {
    return uri();
  }

  /** The path without the query, or null when the request has none. */
  String path();

  /** {@code :authority}, else {@code Host}; null when the request names neither. */
  HostAndPort authority();

  MultiMap headers();

  /** One request header's value (the first, if repeated), or null; {@code name} lower-case. */
  default String header(CharSequence name) {
    return headers().get(name);
  }

  /** The request's header list as HTTP/2 frames carried it (names lower-case, checked by the codec), or null. */
  default Http2Headers http2Headers() {
    return null;
  }

  /**
   * The trailers that ended the request body, once its end is delivered: only where they can be carried
   * on (HTTP/2 client streams the front end runs); else null. Vert.x 5.0.10 gives none for the requests its
   * server reads: HTTP/1.x's last chunk reaches {@code Http1xServerConnection.onContent} as a
   * {@code LastHttpContent} whose trailer fields it never reads ("TODO chunk trailers"), its HTTP/2 server
   * ignores a trailing HEADERS frame, and {@code HttpServerRequest} has no accessor for either. Nor could an
   * HTTP/1.1 origin get them: {@code HttpClientRequest} has no API for them and its connection ends every
   * request with a {@code LastHttpContent} without trailer fields.
   */
  default Http2Headers requestTrailers() {
    return null;
  }

  /** Whether the request's head ended it (HTTP/2 HEADERS with END_STREAM): it has no body, not even empty DATA. */
  default boolean endedWithHead() {
    return false;
  }

  /** The client's IP address as text. */
  String remoteHost();

  boolean tls();

  /** The request's {@code :scheme} over HTTP/2 (null if it has none: CONNECT); over HTTP/1.x, the connection's. */
  CharSequence scheme();

  /** The Vert.x request behind this one, for what only Vert.x can do (a WebSocket upgrade), else null. */
  HttpServerRequest vertxRequest();

  /** Starts delivering body events to {@code events}, subject to {@link #pause}. */
  void bind(Events events);

  void pause();

  void resume();

  /** Whether the request's end has been delivered. */
  boolean isEnded();

  // ---- the response -------------------------------------------------------------------------------

  void status(int status);

  /** The response headers, filled before {@link #writeHead}. */
  MultiMap responseHeaders();

  /**
   * Takes {@code origin}, an HTTP/2 origin's response header list the caller owns, as the response's
   * headers (to be filtered in place) if the client side is HTTP/2 and no header was set yet: no copy.
   * False when it cannot; the caller then copies into {@link #responseHeaders}.
   */
  default boolean adoptResponseHeaders(Http2Headers origin) {
    return false;
  }

  /** The response trailers, sent with {@link #end}. */
  MultiMap responseTrailers();

  /** HTTP/1.x only: frame the body in chunks (it has no Content-Length). */
  void chunked();

  void writeHead();

  boolean headWritten();

  /** Takes the chunk over: writes it, or lets it go ({@link io.muxgate.origin.Chunks}) if the response is over. */
  void write(Buffer chunk);

  boolean writeQueueFull();

  /**
   * Response bytes already handed to the connection and not yet sent, which {@link #writeQueueFull} let in
   * before it said full; 0 where they are the stream's flow-control window's, not the connection's.
   */
  default int bytesQueued() {
    return 0;
  }

  void drainHandler(Handler<Void> handler);

  /**
   * Ends the response with {@code last} (may be null; taken over as by {@link #write}) and the trailers,
   * writing the head if not yet.
   */
  void end(Buffer last);

  void reset(long code);

  /**
   * Resets the response because its client does not take it, and lets go of what is queued for the client:
   * a reset stream drops its queued frames, but an HTTP/1.x response ends only with its connection.
   */
  default void cut(long code) {
    reset(code);
  }

  void writeContinue();

  void writeEarlyHints(MultiMap hints);
}
