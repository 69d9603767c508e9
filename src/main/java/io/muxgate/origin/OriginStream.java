package io.muxgate.origin;

import io.netty.handler.codec.http2.Http2Headers;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpVersion;

/**
 * The origin side of one request attempt, whichever way it travels: as frames Muxgate writes itself on an
 * HTTP/2 connection ({@link FrameStream}), or as a request of Vert.x's client ({@link VertxOriginStream}:
 * HTTP/1.1 origins, CONNECT, and every origin with {@code -Dmuxgate.frame_streams=false}). Its events
 * reach a {@link Sink} on the request's event loop.
 */
public interface OriginStream {

  /** Sends the request head now (for {@code expect: 100-continue}), before any body. */
  void sendHead();

  /**
   * Sends a request body chunk; the caller keeps its reference to {@code chunk}. When the origin cannot
   * take more the sink hears {@link Sink#onBlocked}, and {@link Sink#onWritable} once it can.
   */
  void write(Buffer chunk);

  /** Ends the request, with {@code trailers} where the stream can carry them (null: none). */
  void end(Http2Headers trailers);

  /** Resets the stream (nothing goes out if its head never did); its events stop mattering. */
  void reset(long code);

  /** Response bytes the client side has taken ({@link Sink#onResponseData}): the origin may send more. */
  void consume(int bytes);

  /** The HTTP/2 stream id once the head went out, else {@link OriginFailure#NO_STREAM}; 0 on HTTP/1.1. */
  int sentId();

  /** What an origin stream reports, in order. After a failure or the response's end nothing more. */
  interface Sink {

    /** An informational (1xx) response other than 101, before the final one. */
    void onInformational(int status, MultiMap headers);

    /** The response head as an HTTP/2 origin sent it; the list is the sink's to keep and change. */
    void onResponseHead(int status, Http2Headers headers, boolean end);

    /** The response head as Vert.x's client decoded it; with {@code end} the response is over, else more follows. */
    void onResponseHead(int status, MultiMap headers, HttpVersion version, boolean end);

    /**
     * Response bytes; the origin sends on once they are handed back by {@link #consume}. The chunk is the
     * sink's: written on or let go through {@link Chunks}.
     */
    void onResponseData(Buffer chunk, boolean end);

    /** The response ended with these trailers (maybe empty). */
    void onResponseTrailers(MultiMap trailers);

    /** The request body has filled the stream's window or the socket: stop writing until {@link #onWritable}. */
    void onBlocked();

    void onWritable();

    void onFailure(Throwable cause);
  }
}
