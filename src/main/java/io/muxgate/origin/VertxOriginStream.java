package io.muxgate.origin;

import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientConnection;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.HostAndPort;

/**
 * An origin request on Vert.x's HTTP client, its events turned into a {@link OriginStream.Sink}'s. Vert.x
 * runs it on the caller's event loop. Request trailers are not carried (the client has no API for them).
 */
public final class VertxOriginStream implements OriginStream {

  private final HttpClientRequest request;
  private final Sink sink;
  private final boolean lengthKnown;
  private boolean chunked;
  private HttpClientResponse response;
  /** Response bytes handed to the sink and not yet given back by {@link #consume}. */
  private long owed;
  private boolean paused;

  private VertxOriginStream(HttpClientRequest request, HostAndPort authority, Sink sink) {
    this.request = request;
    this.sink = sink;
    this.lengthKnown = request.headers().contains(HttpHeaders.CONTENT_LENGTH);
    request.authority(authority);
    request.exceptionHandler(sink::onFailure);
    request.drainHandler(v -> sink.onWritable());
    request.continueHandler(v -> sink.onInformational(100, HttpHeaders.headers()));
    request.earlyHintsHandler(hints -> sink.onInformational(103, hints));
    request.response().onComplete(ar -> {
      if (ar.succeeded()) {
        relay(ar.result());
      } else {
        sink.onFailure(ar.cause());
      }
    });
  }

  /** Opens a request on {@code connection}; the future fails as Vert.x fails it. */
  public static Future<OriginStream> open(HttpClientConnection connection, RequestOptions options,
                                          HostAndPort authority, Sink sink) {
    return connection.request(options).map(request -> new VertxOriginStream(request, authority, sink));
  }

  private void relay(HttpClientResponse response) {
    this.response = response;
    int status = response.statusCode();
    if (status < 200 || status > 599) {
      // Out of RFC 9110's range, or a 101 to a request that asked for no upgrade (Vert.x hands 100 and 103
      // to their own handlers): nothing a client could be given. The reset comes back as the response's
      // exception, which unhandled Vert.x would log as SEVERE.
      response.exceptionHandler(ignored -> { });
      request.reset(Http2Error.PROTOCOL_ERROR.code());
      sink.onFailure(new OriginFailure(FailureKind.INVALID_RESPONSE, "response status " + status));
      return;
    }
    sink.onResponseHead(status, response.headers(), response.version());
    response.exceptionHandler(sink::onFailure);
    response.handler(chunk -> {
      owed += chunk.length();
      sink.onResponseData(chunk, false);
      if (owed > 0 && !paused) {
        paused = true;
        response.pause();
      }
    });
    response.endHandler(v -> sink.onResponseTrailers(response.trailers()));
  }

  @Override
  public void sendHead() {
    prepareChunking();
    request.sendHead();
  }

  @Override
  public void write(Buffer chunk) {
    prepareChunking();
    request.write(chunk);
    if (request.writeQueueFull()) {
      sink.onBlocked();
    }
  }

  /**
   * A body of unknown length must be declared chunked before the first write: HTTP/1.1 frames it in
   * chunks, and over HTTP/2, where "chunked" puts nothing on the wire, Vert.x refuses the write otherwise.
   */
  private void prepareChunking() {
    if (!chunked && !lengthKnown) {
      request.setChunked(true);
      chunked = true;
    }
  }

  @Override
  public void end(Http2Headers trailers) {
    request.end();
  }

  @Override
  public void reset(long code) {
    request.reset(code);
  }

  @Override
  public void consume(int bytes) {
    owed -= bytes;
    if (owed <= 0 && paused) {
      paused = false;
      response.resume();
    }
  }

  @Override
  public int sentId() {
    try {
      int id = request.streamId();
      return id > 0 ? id : OriginFailure.NO_STREAM;
    } catch (RuntimeException notYetCreated) {
      return OriginFailure.NO_STREAM;
    }
  }
}
