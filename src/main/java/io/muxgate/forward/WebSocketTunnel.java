package io.muxgate.forward;

import io.muxgate.config.OriginAddress;
import io.muxgate.observe.AccessLog;
import io.muxgate.origin.FailureKind;
import io.muxgate.origin.OriginClients;
import io.muxgate.origin.OriginFailure;
import io.muxgate.origin.OriginPeer;
import io.muxgate.origin.OriginPool;
import io.muxgate.origin.SocketTuning;
import io.muxgate.origin.UpgradeConnector;
import io.netty.channel.Channel;
import io.netty.handler.codec.http2.Http2Headers;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.net.NetSocket;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * A WebSocket carried to the origin over an HTTP/1.1 connection of its own: the upgrade request goes
 * out with its Upgrade headers, and once the origin answers 101 both sides become byte pipes with
 * back-pressure. Any other answer is relayed as an ordinary response.
 *
 * <p>The client opens it either with an HTTP/1.1 Upgrade, whose connection then becomes the pipe (what
 * the client sent behind its request, not waiting for the 101, goes first: {@link EarlyTunnelBytes}), or
 * with RFC 8441's extended CONNECT on an HTTP/2 stream, whose DATA frames then carry the WebSocket's
 * bytes. The latter has no Sec-WebSocket-Key (HTTP/2 needs no handshake nonce), so the tunnel makes one
 * for the origin and checks the origin's answer to it; the client gets 200 instead of 101.
 *
 * <p>An open tunnel in which neither side has sent a byte for {@code proxy_read_timeout} is closed, as
 * nginx and Cloudflare close an idle WebSocket: a client that vanished without a word (a phone that
 * changed networks) would otherwise hold its socket and an origin connection for good. Applications keep
 * quiet WebSockets open with ping frames, which count as bytes.
 */
final class WebSocketTunnel {

  private static final String PROTOCOL = Http2Headers.PseudoHeaderName.PROTOCOL.value().toString();
  private static final CharSequence SEC_WEBSOCKET_KEY = HttpHeaders.createOptimized("sec-websocket-key");
  private static final CharSequence SEC_WEBSOCKET_ACCEPT = HttpHeaders.createOptimized("sec-websocket-accept");
  /** RFC 6455, section 1.3: appended to the key before hashing it into Sec-WebSocket-Accept. */
  private static final String ACCEPT_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

  private final Downstream client;
  /** The origins the upgrade may go to, and where each gets its connections. */
  private final OriginSet origins;
  private final Function<OriginPool, UpgradeConnector> upgrades;
  /** Told of each failure an upgrade failed over from, to count it as a request's failover is counted. */
  private final Consumer<OriginFailure> failedOver;
  /** The origin of the current attempt: another once one fails as a down origin does (nothing was sent). */
  private OriginPool pool;
  /** The origin of each attempt before the current one, for the access log; null until a failover. */
  private List<OriginAddress> originsTried;
  private final MultiMap originHeaders;
  private final String uri;
  private final ContextInternal context;
  private final long readTimeoutMs;
  /** The key sent for an HTTP/2 client, whose answer the tunnel checks; null for an HTTP/1.1 client's own. */
  private String key;
  /** Why the tunnel could not open (the read timeout sets it before the request fails); null until then. */
  private OriginFailure failure;
  /** When a byte last went through the open tunnel, either way. */
  private volatile long lastByteNanos;
  /** An HTTP/1.1 client's bytes behind its upgrade request, held for the origin; null for an HTTP/2 client. */
  private EarlyTunnelBytes early;
  /** Bytes through the open tunnel, client to origin and back; each written by one side's loop only. */
  private volatile long bytesIn;
  private volatile long bytesOut;
  /** The local port of the origin connection that answered the upgrade, for the access log; -1 before. */
  private int originLocalPort = -1;
  /** Completed once the open tunnel is over, both sides closed or closing. */
  private final Promise<Void> closed = Promise.promise();

  WebSocketTunnel(Downstream client, OriginSet origins, Function<OriginPool, UpgradeConnector> upgrades,
                  Consumer<OriginFailure> failedOver, MultiMap originHeaders, String uri, ContextInternal context,
                  long readTimeoutMs) {
    this.client = client;
    this.context = context;
    this.readTimeoutMs = readTimeoutMs;
    this.origins = origins;
    this.pool = origins.pick(null);
    this.upgrades = upgrades;
    this.failedOver = failedOver;
    this.originHeaders = originHeaders;
    this.uri = uri;
  }

  /** An HTTP/1.1 Upgrade to websocket, or an HTTP/2 extended CONNECT for one. */
  static boolean isWebSocket(Downstream client) {
    if (client.version() == HttpVersion.HTTP_2) {
      return client.method() == HttpMethod.CONNECT && "websocket".equalsIgnoreCase(client.header(PROTOCOL));
    }
    return client.vertxRequest() != null && client.method() == HttpMethod.GET
      && "websocket".equalsIgnoreCase(client.header(HttpHeaders.UPGRADE));
  }

  /** Completes with the status sent to the client: 101 (HTTP/1.1) or 200 (HTTP/2) once the tunnel is open. */
  Future<Integer> start() {
    client.pause();
    if (client.version() != HttpVersion.HTTP_2) {
      // Now, while the request is being handed up: the decoder would read on into the frames behind it.
      early = EarlyTunnelBytes.install(client.vertxRequest());
    }
    originHeaders.set(HttpHeaders.CONNECTION, HttpHeaders.UPGRADE);
    originHeaders.set(HttpHeaders.UPGRADE, "websocket");
    if (client.version() == HttpVersion.HTTP_2) {
      byte[] nonce = new byte[16];
      ThreadLocalRandom.current().nextBytes(nonce);
      key = Base64.getEncoder().encodeToString(nonce);
      originHeaders.set(SEC_WEBSOCKET_KEY, key);
    }
    return upgradeRequest()
      .compose(req -> {
        req.authority(client.authority());
        // A tunnel ends by closing the origin connection under this request; without a handler Vert.x
        // logs that as SEVERE for every WebSocket. A failure to connect still fails connect().
        req.exceptionHandler(closed -> { });
        // As for any request: an origin that took the connection but does not answer within
        // proxy_read_timeout gets its request reset and the client a 524.
        long timer = context.setTimer(readTimeoutMs, id -> {
          failure = new OriginFailure(FailureKind.READ_TIMEOUT, "no answer to the upgrade within proxy_read_timeout");
          req.reset();
        });
        return req.connect().andThen(answered -> context.owner().cancelTimer(timer)).compose(this::open);
      })
      .recover(t -> {
        if (failure == null) {
          failure = onlyHttp2(t instanceof OriginFailure f ? f
            : OriginFailure.ofConnect(t, peer().address().scheme().tls()));
        }
        notUpgraded();
        client.resume();
        bytesOut += ErrorAnswer.write(client, failure.kind().status(), failure.kind().reason());
        return Future.succeededFuture(failure.kind().status());
      });
  }

  /**
   * The upgrade request, not yet sent, on a connection to the current origin. One that fails to connect as
   * a down origin does (refused, timed out, TLS; it is taken out of balancing) hands the upgrade on to
   * another origin in balancing, as a request's failover does, each origin once.
   */
  private Future<HttpClientRequest> upgradeRequest() {
    RequestOptions options = OriginClients.upgradeRequestOptions(pool.peer())
      .setMethod(HttpMethod.GET)
      .setURI(AccessLog.asSent(uri))   // written as UTF-8 by Vert.x's HTTP/1.1 client: see RequestRelay.options
      .setHeaders(originHeaders);
    return upgrades.apply(pool).request(context, options).recover(t -> {
      if (!(t instanceof OriginFailure f && f.kind().ejectsOrigin()) || attempts() >= origins.pools().size()
        || !origins.hasAlternativeInBalancing(pool)) {
        return Future.failedFuture(t);
      }
      failedOver.accept(f);
      if (originsTried == null) {
        originsTried = new ArrayList<>(origins.pools().size() - 1);
      }
      originsTried.add(pool.peer().address());
      pool = origins.pick(pool);
      return upgradeRequest();
    });
  }

  /**
   * An {@code h2c://} origin that took the connection and then closed it, reset it or answered with bytes
   * that are no HTTP/1.1 response speaks HTTP/2 alone (one that also speaks HTTP/1.1 on its port, as Go's
   * and Jetty's h2c servers do, gets its WebSockets): said so, rather than as an origin failing.
   */
  private OriginFailure onlyHttp2(OriginFailure failure) {
    FailureKind kind = failure.kind();
    if (peer().address().scheme() == OriginAddress.Scheme.H2C
      && (kind == FailureKind.INVALID_RESPONSE || kind == FailureKind.CLOSED || kind == FailureKind.RESET)) {
      return new OriginFailure(FailureKind.WEBSOCKET_UNSUPPORTED,
        "an h2c origin that does not take HTTP/1.1 has no WebSocket through Muxgate", failure);
    }
    return failure;
  }

  /**
   * Completes once a tunnel {@link #start} opened is over; then {@link #bytesIn} and {@link #bytesOut} are final
   * (for an upgrade that did not open, they are once {@link #start} has completed).
   */
  Future<Void> closed() {
    return closed.future();
  }

  long bytesIn() {
    return bytesIn;
  }

  long bytesOut() {
    return bytesOut;
  }

  /** Which origin connection answered the upgrade (its local port), once it has; else -1. */
  int originLocalPort() {
    return originLocalPort;
  }

  /** The origin of the last attempt, the one the tunnel went to if it opened. */
  OriginPeer peer() {
    return pool.peer();
  }

  /** Upgrade attempts made so far: one, and one more for each origin failed over from. */
  int attempts() {
    return originsTried == null ? 1 : originsTried.size() + 1;
  }

  /** The origin of each attempt before the last, in order; null with a single attempt. */
  List<OriginAddress> originsTried() {
    return originsTried;
  }

  /** Why the tunnel could not be opened, once {@link #start} has completed with a 5xx of the proxy's own; else null. */
  OriginFailure failure() {
    return failure;
  }

  /** Completes with the status sent once the origin's answer other than 101 is relayed, or at once the tunnel opens. */
  private Future<Integer> open(HttpClientResponse originResponse) {
    originLocalPort = originResponse.request().connection().localAddress().port();
    if (originResponse.statusCode() != 101) {
      client.status(originResponse.statusCode());
      copyHead(originResponse, client.responseHeaders());
      notUpgraded();
      client.resume();
      return originResponse.body().transform(ar -> {
        Buffer body = ar.succeeded() ? ar.result() : null;
        bytesOut += body != null ? body.length() : 0;
        client.end(body);
        return Future.succeededFuture(originResponse.statusCode());
      });
    }
    NetSocket origin = originResponse.netSocket();
    closeWhenQuiet(UpgradeConnector.channelOf(originResponse.request().connection()));
    if (key == null) {
      return Future.succeededFuture(openUpgrade(client.vertxRequest(), originResponse, origin));
    }
    if (!expectedAccept(key).equals(originResponse.getHeader(SEC_WEBSOCKET_ACCEPT))) {
      origin.close();
      throw new OriginFailure(FailureKind.INVALID_RESPONSE, "101 without the Sec-WebSocket-Accept for our key");
    }
    client.status(200);
    copyHead(originResponse, client.responseHeaders());
    client.responseHeaders().remove(SEC_WEBSOCKET_ACCEPT);
    client.writeHead();
    pipe(origin);
    return Future.succeededFuture(200);
  }

  /**
   * The client stays on HTTP: an HTTP/1.1 connection, whose request decoder made way for the early bytes
   * (dropped now: they were meant for the tunnel), cannot read another request and closes after the answer.
   */
  private void notUpgraded() {
    if (early != null) {
      early.discard();
      LingeringClose.afterResponse(client);
    }
  }

  /** The origin's response headers, hop-by-hop ones aside, and this proxy's {@code via}, as for any response. */
  private static void copyHead(HttpClientResponse originResponse, MultiMap to) {
    Headers.copy(originResponse.headers(), to);
    Headers.append(to, "via", ForwardingHeaders.via(originResponse.version()));
  }

  /** HTTP/1.1: the 101 goes to the client and its connection becomes the pipe. */
  private int openUpgrade(HttpServerRequest request, HttpClientResponse originResponse, NetSocket origin) {
    HttpServerResponse response = request.response();
    response.setStatusCode(101);
    copyHead(originResponse, response.headers());
    response.headers().set(HttpHeaders.CONNECTION, HttpHeaders.UPGRADE);
    response.headers().set(HttpHeaders.UPGRADE, originResponse.getHeader(HttpHeaders.UPGRADE));
    request.toNetSocket().onComplete(ar -> {
      if (ar.failed()) {
        origin.close();
        request.connection().close(); // its decoder is gone: it can carry nothing else
        closed.tryComplete();
        return;
      }
      NetSocket socket = ar.result();
      Handler<Buffer> toOrigin = relay(socket, origin, true);
      relay(origin, socket, false);
      socket.closeHandler(v -> origin.close());
      origin.closeHandler(v -> {
        socket.close();
        closed.tryComplete();
      });
      if (early != null) {
        early.replay(toOrigin);
      }
    });
    return 101;
  }

  /**
   * HTTP/2: the stream's DATA frames to the origin's socket and back, each side paused while the other
   * cannot take more. The origin closing ends the stream; the client ending or resetting it closes the
   * origin's connection.
   */
  private void pipe(NetSocket origin) {
    origin.handler(chunk -> {
      lastByteNanos = System.nanoTime();
      bytesOut += chunk.length();
      client.write(chunk);
      if (client.writeQueueFull()) {
        origin.pause();
        client.drainHandler(v -> origin.resume());
      }
    });
    origin.exceptionHandler(e -> { });
    origin.closeHandler(v -> {
      client.end(null);
      closed.tryComplete();
    });
    client.bind(new Downstream.Events() {
      @Override
      public void onData(Buffer chunk) {
        lastByteNanos = System.nanoTime();
        bytesIn += chunk.length();
        origin.write(chunk);
        if (origin.writeQueueFull()) {
          client.pause();
          origin.drainHandler(v -> client.resume());
        }
      }

      @Override
      public void onEnd() {
        origin.end();
      }

      @Override
      public void onFailure(Throwable cause) {
        origin.close();
      }
    });
    client.resume();
  }

  /**
   * One way of an HTTP/1.1 tunnel: {@code from} paused while {@code to} cannot take more, ended with it.
   * Returns the handler of {@code from}'s bytes.
   */
  private Handler<Buffer> relay(NetSocket from, NetSocket to, boolean fromClient) {
    Handler<Buffer> bytes = chunk -> {
      lastByteNanos = System.nanoTime();
      if (fromClient) {
        bytesIn += chunk.length();
      } else {
        bytesOut += chunk.length();
      }
      to.write(chunk);
      if (to.writeQueueFull()) {
        from.pause();
        to.drainHandler(v -> from.resume());
      }
    };
    from.handler(bytes);
    from.endHandler(v -> to.end());
    from.exceptionHandler(e -> { }); // the socket closes with it, and its close handler closes the other
    return bytes;
  }

  /**
   * Watches the open tunnel for {@code proxy_read_timeout} without a byte either way, then closes the
   * origin's socket, which closes the client's side. The close does not wait for bytes the origin has not
   * read (it may be the side that went quiet by no longer reading).
   */
  private void closeWhenQuiet(Channel origin) {
    if (origin != null) {
      lastByteNanos = System.nanoTime();
      context.setTimer(readTimeoutMs, id -> checkQuiet(origin));
    }
  }

  private void checkQuiet(Channel origin) {
    if (!origin.isActive()) {
      return;
    }
    long quietMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastByteNanos);
    if (quietMs < readTimeoutMs) {
      context.setTimer(readTimeoutMs - quietMs, id -> checkQuiet(origin));
    } else {
      SocketTuning.abort(origin);
    }
  }

  static String expectedAccept(String key) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-1")
        .digest((key + ACCEPT_GUID).getBytes(StandardCharsets.US_ASCII));
      return Base64.getEncoder().encodeToString(digest);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-1 is part of every JDK", e);
    }
  }
}
