package io.muxgate.config;

import io.muxgate.support.Await;
import io.vertx.core.Context;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An h2c origin on 127.0.0.1:0 that answers "hello" and keeps a ledger per connection: when it was
 * accepted (by a test-chosen mark), streams in flight now, the most ever in flight at once, streams
 * started, and whether it is still open. That is what lets a reload test say which connections belong to
 * the pool from before a change and what each one carried. Requests for /hold/... wait for
 * {@link #releaseHeld()}; the others are answered after a random delay.
 */
final class CountingOrigin implements AutoCloseable {

  /** One accepted connection as the origin saw it. */
  static final class Conn {
    final int mark;
    final AtomicInteger active = new AtomicInteger();
    final AtomicInteger peak = new AtomicInteger();
    final AtomicInteger started = new AtomicInteger();
    final AtomicInteger startedAfterMark = new AtomicInteger();
    volatile boolean open = true;

    Conn(int mark) {
      this.mark = mark;
    }
  }

  private final Vertx vertx;
  private final int minDelayMs;
  private final int maxDelayMs;
  private final List<Conn> connections = new CopyOnWriteArrayList<>();
  private final Map<HttpConnection, Conn> ledger = new ConcurrentHashMap<>();
  private final AtomicInteger requests = new AtomicInteger();
  private final Promise<Void> held = Promise.promise();
  private volatile int mark;
  private HttpServer server;

  private CountingOrigin(Vertx vertx, int minDelayMs, int maxDelayMs) {
    this.vertx = vertx;
    this.minDelayMs = minDelayMs;
    this.maxDelayMs = maxDelayMs;
  }

  /** Answers each request after {@code minDelayMs..maxDelayMs}. */
  static CountingOrigin start(Vertx vertx, int minDelayMs, int maxDelayMs) {
    CountingOrigin origin = new CountingOrigin(vertx, minDelayMs, maxDelayMs);
    origin.server = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0)
        .setHttp2ClearTextEnabled(true).setInitialSettings(new Http2Settings().setMaxConcurrentStreams(1000)))
      .connectionHandler(origin::connected)
      .requestHandler(origin::handle);
    Await.result(origin.server.listen(), 10);
    return origin;
  }

  private void connected(HttpConnection connection) {
    Conn conn = new Conn(mark);
    connections.add(conn);
    ledger.put(connection, conn);
    connection.closeHandler(v -> conn.open = false);
  }

  private void handle(HttpServerRequest request) {
    requests.incrementAndGet();
    Conn conn = ledger.get(request.connection());
    conn.started.incrementAndGet();
    if (mark > conn.mark) {
      conn.startedAfterMark.incrementAndGet();
    }
    conn.peak.accumulateAndGet(conn.active.incrementAndGet(), Math::max);
    Runnable answer = () -> {
      conn.active.decrementAndGet();
      request.response().putHeader("content-type", "text/plain").end("hello");
    };
    if (request.path().startsWith("/hold/")) {
      Context context = vertx.getOrCreateContext();
      held.future().onComplete(v -> context.runOnContext(x -> answer.run()));
      return;
    }
    long delay = minDelayMs + ThreadLocalRandom.current().nextInt(maxDelayMs - minDelayMs + 1);
    request.body().onComplete(body -> vertx.setTimer(Math.max(1, delay), id -> answer.run()));
  }

  /** Answers every request whose path starts with /hold/ (they wait until now). */
  void releaseHeld() {
    held.tryComplete();
  }

  String url() {
    return "h2c://127.0.0.1:" + server.actualPort();
  }

  /** Starts a new period: connections accepted from now on carry the new mark. */
  int advanceMark() {
    return ++mark;
  }

  List<Conn> connections() {
    return connections;
  }

  List<Conn> connectionsMarked(int m) {
    return connections.stream().filter(c -> c.mark == m).toList();
  }

  long openConnections() {
    return connections.stream().filter(c -> c.open).count();
  }

  int requests() {
    return requests.get();
  }

  int inFlight() {
    return connections.stream().mapToInt(c -> c.active.get()).sum();
  }

  @Override
  public void close() {
    Await.result(server.close(), 5);
  }
}
