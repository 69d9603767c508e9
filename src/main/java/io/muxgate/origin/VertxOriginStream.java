package io.muxgate.origin;

import io.netty.channel.Channel;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientConnection;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.HostAndPort;

import java.util.List;
import java.util.concurrent.Executor;

/**
 * An origin request on Vert.x's HTTP client, its events turned into a {@link OriginStream.Sink}'s. Vert.x
 * runs it on the caller's event loop. Request trailers are not carried (the client has no API for them).
 */
public final class VertxOriginStream implements OriginStream {

  private final HttpClientRequest request;
  /** The connection's channel, or null when out of reach. */
  private final Channel channel;
  /** The event loop of the connection's channel (or, out of reach, a direct call). */
  private final Executor connectionLoop;
  private final Sink sink;
  private final boolean lengthKnown;
  private boolean chunked;
  private HttpClientResponse response;
  /** Response bytes handed to the sink and not yet given back by {@link #consume}. */
  private long owed;
  private boolean paused;
  /** The response head is in, not yet handed to the sink. */
  private boolean headPending;

  private VertxOriginStream(HttpClientRequest request, Channel channel, HostAndPort authority, Sink sink) {
    this.request = request;
    this.channel = channel;
    this.connectionLoop = channel != null ? channel.eventLoop() : Runnable::run;
    this.sink = sink;
    this.lengthKnown = request.headers().contains(HttpHeaders.CONTENT_LENGTH);
    request.authority(authority);
    request.exceptionHandler(this::fail);
    request.drainHandler(v -> sink.onWritable());
    request.continueHandler(v -> sink.onInformational(100, HttpHeaders.headers()));
    request.earlyHintsHandler(hints -> sink.onInformational(103, hints));
    request.response().onComplete(ar -> {
      if (ar.succeeded()) {
        relay(ar.result());
      } else {
        fail(ar.cause());
      }
    });
  }

  /** Opens a request on {@code connection}; the future fails as Vert.x fails it. */
  public static Future<OriginStream> open(HttpClientConnection connection, RequestOptions options,
                                          HostAndPort authority, Sink sink) {
    Channel channel = ConnectionInternals.channelOf(connection);
    return connection.request(options).map(request -> new VertxOriginStream(request, channel, authority, sink));
  }

  private void relay(HttpClientResponse response) {
    this.response = response;
    int status = response.statusCode();
    if (status < 200 || status > 599) {
      // Out of RFC 9110's range, or a 101 to a request that asked for no upgrade (Vert.x hands 100 and 103
      // to their own handlers): nothing a client could be given.
      refuse(new OriginFailure(FailureKind.INVALID_RESPONSE, "response status " + status));
      return;
    }
    String codings = response.headers().get(HttpHeaders.TRANSFER_ENCODING);
    if (codings != null && !codings.equalsIgnoreCase("chunked")
      && !onlyChunked(response.headers().getAll(HttpHeaders.TRANSFER_ENCODING))) {
      // RFC 9112, section 6.1: gzip and the like, which the proxy does not decode and, as Transfer-Encoding
      // is hop-by-hop, could not name to the client (Content-Encoding means another thing); Netty has
      // taken the chunks off already, or reads the body to the close.
      refuse(new OriginFailure(FailureKind.UNSUPPORTED_TRANSFER_CODING, "transfer coding " + codings));
      return;
    }
    headPending = true;
    if (response.version() != HttpVersion.HTTP_2) {
      passHeadOn(false);
    } else {
      // Back on this stream's context once the connection's loop is done with the read that brought the
      // head: an end read with it has been handed here by then, and has taken the head along.
      Context context = Vertx.currentContext();
      connectionLoop.execute(() -> context.runOnContext(v -> passHeadOn(false)));
    }
    response.exceptionHandler(this::fail);
    response.handler(chunk -> {
      passHeadOn(false);
      owed += chunk.length();
      sink.onResponseData(chunk, false);
      if (owed > 0 && !paused) {
        paused = true;
        response.pause();
      }
    });
    response.endHandler(v -> {
      MultiMap trailers = response.trailers();
      if (headPending && trailers.isEmpty()) {
        passHeadOn(true);
      } else {
        passHeadOn(false);
        sink.onResponseTrailers(trailers);
      }
    });
  }

  /**
   * Resets a response that cannot be relayed. The reset comes back as the response's exception, which
   * unhandled Vert.x would log as SEVERE.
   */
  private void refuse(OriginFailure failure) {
    response.exceptionHandler(ignored -> { });
    request.reset(Http2Error.PROTOCOL_ERROR.code());
    sink.onFailure(failure);
  }

  /** Whether the Transfer-Encoding values name no coding but chunked. */
  private static boolean onlyChunked(List<String> values) {
    for (String value : values) {
      for (String coding : value.split(",")) {
        if (!coding.trim().equalsIgnoreCase("chunked")) {
          return false;
        }
      }
    }
    return true;
  }

  /** Nothing more reaches the sink after a failure, a head still waiting for its turn's end included. */
  private void fail(Throwable cause) {
    headPending = false;
    sink.onFailure(cause);
  }

  /**
   * Hands the head to the sink once. Vert.x's client reports an HTTP/2 response that ends with its only
   * HEADERS frame (a gRPC trailers-only status: grpc-status in a HEADERS with END_STREAM) as a head and
   * then an end, each handed from the connection's loop to the stream's context (another loop's, maybe).
   * So an HTTP/2 head waits until that loop is done with the read that brought it: a head that comes with
   * the end is relayed as the whole response and reaches the client as one HEADERS frame with END_STREAM,
   * where a head and then an empty DATA frame with END_STREAM would be what gRPC clients reject
   * ("unexpected EOS on empty DATA frame").
   */
  private void passHeadOn(boolean end) {
    if (headPending) {
      headPending = false;
      sink.onResponseHead(response.statusCode(), response.headers(), version(), end);
    }
  }

  /** The version the response came in: Vert.x gives the connection's, HTTP/1.1 for an HTTP/1.0 answer too. */
  private HttpVersion version() {
    HttpVersion version = response.version();
    return version == HttpVersion.HTTP_1_1 && ClosingResponses.answersInHttp10(channel) ? HttpVersion.HTTP_1_0 : version;
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
