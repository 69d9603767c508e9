package io.muxgate.support;

import io.muxgate.frontend.ServerCertificate;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * A well-behaved origin on a Vert.x server, bound to 127.0.0.1:0, that counts what a proxy does to it:
 * TCP connections accepted, requests, streams in flight per connection and the most ever seen on one.
 * {@link #park()} holds every response until {@link #release()}, so a test can see a burst's
 * connections while all its requests are in flight.
 */
public final class TestOrigin implements AutoCloseable {

  public enum Mode {
    /** HTTP/2 cleartext, prior knowledge (and Upgrade). */
    H2C,
    /** HTTP/1.1 only, cleartext; an h2c Upgrade is ignored. */
    H1,
    /** TLS with ALPN offering h2 and http/1.1. */
    TLS_H2,
    /** TLS with ALPN offering only http/1.1. */
    TLS_H1
  }

  private final AtomicInteger connectionsAccepted = new AtomicInteger();
  private final AtomicInteger requests = new AtomicInteger();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger maxStreamsOnOneConnection = new AtomicInteger();
  private final AtomicInteger maxInFlight = new AtomicInteger();
  private final Map<HttpConnection, AtomicInteger> active = new ConcurrentHashMap<>();
  private final List<HttpVersion> versions = new CopyOnWriteArrayList<>();
  private final List<HttpServerRequest> received = new CopyOnWriteArrayList<>();
  private volatile Promise<Void> gate;
  private volatile Handler<HttpServerRequest> handler = TestOrigin::hello;
  private HttpServer server;
  private Mode mode;
  private Vertx vertx;

  public static TestOrigin start(Vertx vertx, Mode mode) {
    return start(vertx, mode, o -> {
    });
  }

  public static TestOrigin start(Vertx vertx, Mode mode, Consumer<HttpServerOptions> customize) {
    TestOrigin origin = new TestOrigin();
    origin.mode = mode;
    origin.vertx = vertx;
    HttpServerOptions options = new HttpServerOptions().setHost("127.0.0.1").setPort(0)
      .setInitialSettings(new Http2Settings().setMaxConcurrentStreams(1000));
    switch (mode) {
      case H2C -> options.setHttp2ClearTextEnabled(true);
      case H1 -> options.setHttp2ClearTextEnabled(false);
      case TLS_H2, TLS_H1 -> options.setSsl(true).setUseAlpn(true)
        .setKeyCertOptions(ServerCertificate.selfSigned())   // the proxies' own: one keytool run per JVM
        .setAlpnVersions(mode == Mode.TLS_H2 ? List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1)
          : List.of(HttpVersion.HTTP_1_1));
    }
    customize.accept(options);
    origin.server = vertx.createHttpServer(options)
      .connectionHandler(origin::connected)
      .requestHandler(origin::handle);
    origin.server.listen().await();
    return origin;
  }

  private void connected(HttpConnection connection) {
    connectionsAccepted.incrementAndGet();
    active.put(connection, new AtomicInteger());
    connection.closeHandler(v -> active.remove(connection));
  }

  private void handle(HttpServerRequest request) {
    requests.incrementAndGet();
    received.add(request);
    versions.add(request.version());
    AtomicInteger onConnection = active.computeIfAbsent(request.connection(), c -> new AtomicInteger());
    maxStreamsOnOneConnection.accumulateAndGet(onConnection.incrementAndGet(), Math::max);
    maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
    boolean[] counted = {true};
    Runnable done = () -> {
      if (counted[0]) {
        counted[0] = false;
        onConnection.decrementAndGet();
        inFlight.decrementAndGet();
      }
    };
    request.response().endHandler(v -> done.run());
    request.response().closeHandler(v -> done.run());
    Promise<Void> g = gate;
    if (g == null) {
      handler.handle(request);
    } else {
      // Parked: the body waits in Vert.x's buffer and the handler runs on this loop once released.
      request.pause();
      io.vertx.core.Context context = vertx.getOrCreateContext();
      g.future().onComplete(v -> context.runOnContext(x -> {
        if (request.response().closed()) {
          return; // reset while parked (its client went away): nothing to answer
        }
        handler.handle(request);
        request.resume();
      }));
    }
  }

  private static void hello(HttpServerRequest request) {
    request.body().onSuccess(body -> request.response().putHeader("content-type", "text/plain").end("hello"));
  }

  /** Replaces how requests are answered. */
  public TestOrigin handler(Handler<HttpServerRequest> handler) {
    this.handler = handler;
    return this;
  }

  /** Holds every response from now on until {@link #release()}. */
  public TestOrigin park() {
    gate = Promise.promise();
    return this;
  }

  public void release() {
    Promise<Void> g = gate;
    gate = null;
    if (g != null) {
      g.tryComplete();
    }
  }

  public int port() {
    return server.actualPort();
  }

  /** The origin URL for a zone file, with the scheme that reaches this mode. */
  public String url() {
    String scheme = switch (mode) {
      case H2C -> "h2c";
      case H1 -> "http";
      case TLS_H2, TLS_H1 -> "https";
    };
    return scheme + "://127.0.0.1:" + port();
  }

  public int connectionsAccepted() {
    return connectionsAccepted.get();
  }

  public int openConnections() {
    return active.size();
  }

  public int requests() {
    return requests.get();
  }

  public int inFlight() {
    return inFlight.get();
  }

  public int maxInFlight() {
    return maxInFlight.get();
  }

  public int maxStreamsOnOneConnection() {
    return maxStreamsOnOneConnection.get();
  }

  public List<HttpVersion> versions() {
    return versions;
  }

  public List<HttpServerRequest> received() {
    return received;
  }

  /** Waits until {@code n} requests are in flight at once at this origin. */
  public void awaitInFlight(int n) {
    Await.until(() -> inFlight.get() >= n, "origin to have " + n + " requests in flight, has " + inFlight.get());
  }

  @Override
  public void close() {
    release();
    if (server != null) {
      Await.result(server.close(), 5);
    }
  }

  Future<Void> closeAsync() {
    return server.close();
  }
}
