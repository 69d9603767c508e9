package io.muxgate.origin;

import io.muxgate.admin.AdminApi;
import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.RefusedPort;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.muxgate.testing.FaultOrigin;
import io.muxgate.testing.FullAcceptQueuePort;
import io.muxgate.testing.ListenMode;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Requests that queue while the pool opens a connection share that attempt's fate: when it fails and
 * nothing else in the pool can serve them, each gets its failure when the attempt ends (a 52x, or a
 * failover to another origin), not after one more attempt of its own. An audit saw 1 of 20 requests to
 * a silent h2 origin answered at the setup deadline and the other 19 at up to twice that.
 *
 * <p>Bounds are 1.5 × the attempt's own deadline from each request's start; the connect timeout is
 * 2 s, so the margin is a second or more either way.
 */
class ConnectFailureSharedByQueueTest {

  private static final int REQUESTS = 20;
  private static final int CONNECT_TIMEOUT_S = 2;
  /** The read timeout: twice the connect timeout, so that the setup deadline stays at that. */
  private static final int READ_TIMEOUT_S = 2 * CONNECT_TIMEOUT_S;
  /** {@link OriginPeer#setupDeadlineMillis()}. */
  private static final long SETUP_DEADLINE_MS = 1_000L * READ_TIMEOUT_S;
  private static final long CONNECT_TIMEOUT_MS = 1_000L * CONNECT_TIMEOUT_S;

  /** How a connection attempt fails, and when it ends. */
  enum Failure {
    /** An h2c origin that accepts and never sends SETTINGS: the setup deadline ends the attempt. */
    SILENT_H2(524, "setup_timeout", SETUP_DEADLINE_MS),
    /** SYNs dropped: the TCP connect times out. */
    TCP_CONNECT_TIMEOUT(522, "connect_timeout", CONNECT_TIMEOUT_MS),
    /** A TLS origin that never answers the ClientHello: the handshake times out. */
    TLS_HANDSHAKE(525, "tls_handshake_failed", CONNECT_TIMEOUT_MS),
    /** Nothing listens: refused at once (on loopback there is no spread to see, only the counts). */
    REFUSED(521, "connection_refused", CONNECT_TIMEOUT_MS);

    final int status;
    final String reason;
    final long attemptEndsMs;

    Failure(int status, String reason, long attemptEndsMs) {
      this.status = status;
      this.reason = reason;
      this.attemptEndsMs = attemptEndsMs;
    }
  }

  @RegisterExtension
  final TestScope scope = new TestScope();

  @ParameterizedTest
  @EnumSource(Failure.class)
  void everyRequestQueuedOnAFailedAttemptGetsItsFailureWhenTheAttemptEnds(Failure failure) throws IOException {
    FaultOrigin silent = failure == Failure.SILENT_H2 || failure == Failure.TLS_HANDSHAKE
      ? scope.track(FaultOrigin.builder().mode(ListenMode.ACCEPT_AND_STAY_SILENT).start()) : null;
    String url = switch (failure) {
      case SILENT_H2 -> "h2c://" + silent.authority();
      case TLS_HANDSHAKE -> "https://" + silent.authority();
      case TCP_CONNECT_TIMEOUT -> "h2c://127.0.0.1:" + scope.track(FullAcceptQueuePort.open()).port();
      case REFUSED -> "h2c://127.0.0.1:" + RefusedPort.pick();
    };
    ProxyHarness proxy = scope.startProxy(Map.of("z.json", zone(List.of(url))));
    HttpClientAgent client = scope.client(ClientKind.HTTP1, proxy);

    List<Timed> answers = Timed.burst(client, REQUESTS);

    long boundMs = failure.attemptEndsMs * 3 / 2;
    for (Timed answer : answers) {
      Exchange exchange = Await.result(answer.exchange, 30);
      assertEquals(failure.status, exchange.status(), exchange.body());
      assertEquals(failure.reason, exchange.header("muxgate-error"));
    }
    String spread = Timed.spread(answers);
    for (Timed answer : answers) {
      assertTrue(answer.tookMs() <= boundMs, "answered after " + answer.tookMs() + " ms, over " + boundMs
        + " ms; the attempt ends at " + failure.attemptEndsMs + " ms; all: " + spread);
    }
    if (silent != null) {
      assertEquals(1, silent.stats().connectionsAccepted(), "one attempt for the whole burst");
    }
    AdminApi admin = new AdminApi(scope.vertx(), proxy.adminPort());
    String labels = "code=\"" + failure.status + "\",zone=\"z\"";
    Await.until(() -> admin.metric("muxgate_requests_total", labels) == REQUESTS, "every request counted");
    assertEquals(REQUESTS, admin.sumForZone("muxgate_requests_total", "z"), "one count per request");
    assertEquals(REQUESTS, admin.metric("muxgate_origin_errors_total", labels), "one origin error per request");
    assertEquals(REQUESTS, admin.sumForZone("muxgate_origin_errors_total", "z"));
  }

  @Test
  void requestsQueuedOnAFailedAttemptFailOverToTheOtherOriginWhenItEnds() {
    FaultOrigin silent = scope.track(FaultOrigin.builder().mode(ListenMode.ACCEPT_AND_STAY_SILENT).start());
    // Held answers keep the healthy origin's load up, so that balancing sends about half the burst to the silent one.
    TestOrigin healthy = scope.startOrigin(TestOrigin.Mode.H2C).park();
    ProxyHarness proxy = scope.startProxy(Map.of("z.json", zone(List.of("h2c://" + silent.authority(), healthy.url()))));
    HttpClientAgent client = scope.client(ClientKind.HTTP1, proxy);

    List<Timed> answers = Timed.burst(client, REQUESTS);

    Await.until(() -> healthy.requests() == REQUESTS, 3 * SETUP_DEADLINE_MS, "every request at the healthy origin");
    long reachedAllMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - answers.get(0).startNanos);
    AdminApi admin = new AdminApi(scope.vertx(), proxy.adminPort());
    double failedOver = admin.metric("muxgate_origin_replays_total", "reason=\"setup_timeout\",zone=\"z\"");
    assertTrue(failedOver >= 2, failedOver + " requests went to the silent origin: too few to tell");
    assertTrue(reachedAllMs <= SETUP_DEADLINE_MS * 3 / 2, "the last failover reached the healthy origin after "
      + reachedAllMs + " ms; the attempt it waited on ended at " + SETUP_DEADLINE_MS + " ms");
    healthy.release();
    for (Timed answer : answers) {
      assertEquals(200, Await.result(answer.exchange, 30).status());
    }
    assertEquals(1, silent.stats().connectionsAccepted());
    assertEquals(0.0, admin.sumForZone("muxgate_origin_errors_total", "z"), "a failover is no origin error");
    Await.until(() -> admin.metric("muxgate_requests_total", "code=\"200\",zone=\"z\"") == REQUESTS,
      "every request counted");
  }

  @Test
  void afterAFailedAttemptTheNextOneServesTheRequestsQueuedForIt() {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C);
    SilentOnceRelay relay = new SilentOnceRelay(scope.vertx(), origin.port());
    scope.track(relay::close);
    ProxyHarness proxy = scope.startProxy(Map.of("z.json", zone(List.of("h2c://127.0.0.1:" + relay.port()))));
    HttpClientAgent client = scope.client(ClientKind.HTTP1, proxy);

    List<Timed> failed = Timed.burst(client, REQUESTS);
    for (Timed answer : failed) {
      assertEquals(524, Await.result(answer.exchange, 30).status(), "queued on the attempt that failed");
    }
    String spread = Timed.spread(failed);
    for (Timed answer : failed) {
      assertTrue(answer.tookMs() <= SETUP_DEADLINE_MS * 3 / 2, "answered after " + answer.tookMs()
        + " ms; the attempt ended at " + SETUP_DEADLINE_MS + " ms; all: " + spread);
    }

    List<Timed> served = Timed.burst(client, REQUESTS);
    for (Timed answer : served) {
      Exchange exchange = Await.result(answer.exchange, 30);
      assertEquals(200, exchange.status(), exchange.body());
    }
    assertEquals(2, relay.accepted.get(), "the silent attempt, then one connection for the second burst");
    assertEquals(1, origin.connectionsAccepted());
    assertEquals(REQUESTS, origin.requests());
  }

  private static JsonObject zone(List<String> origins) {
    JsonObject settings = new JsonObject().put("proxy_connect_timeout", CONNECT_TIMEOUT_S)
      .put("proxy_read_timeout", READ_TIMEOUT_S).put("origin_max_http_version", "2");
    return ProxyHarness.zone("z", "z.test", origins, settings).put("origin_tls_verify", false);
  }

  /** One request of a burst and when it was sent. */
  private record Timed(long startNanos, Future<Exchange> exchange, long[] endNanos) {

    /** {@code n} requests sent at once, each on a connection of its own. */
    static List<Timed> burst(HttpClientAgent client, int n) {
      List<Timed> burst = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        long[] end = {0};
        long start = System.nanoTime();
        Future<Exchange> exchange = Exchange.get(client, "z.test", "/" + i)
          .andThen(ar -> end[0] = System.nanoTime());
        burst.add(new Timed(start, exchange, end));
      }
      return burst;
    }

    long tookMs() {
      return TimeUnit.NANOSECONDS.toMillis(endNanos[0] - startNanos);
    }

    static String spread(List<Timed> answers) {
      long min = answers.stream().mapToLong(Timed::tookMs).min().orElse(0);
      long max = answers.stream().mapToLong(Timed::tookMs).max().orElse(0);
      return min + ".." + max + " ms";
    }
  }

  /**
   * An origin that hangs on its first connection (accepts, never answers) and relays every later one
   * to {@code targetPort}: the pool's first attempt fails at its deadline, the next one succeeds.
   */
  private static final class SilentOnceRelay {

    private final NetServer server;
    final AtomicInteger accepted = new AtomicInteger();

    SilentOnceRelay(Vertx vertx, int targetPort) {
      NetClient toTarget = vertx.createNetClient();
      server = Await.result(vertx.createNetServer(new NetServerOptions().setHost("127.0.0.1").setPort(0))
        .connectHandler(socket -> {
          if (accepted.incrementAndGet() == 1) {
            socket.handler(ignored -> {
            });
            return;
          }
          socket.pause();
          toTarget.connect(targetPort, "127.0.0.1").onComplete(ar -> {
            if (ar.failed()) {
              socket.close();
              return;
            }
            ar.result().pipeTo(socket);
            socket.pipeTo(ar.result());
          });
        }).listen());
    }

    int port() {
      return server.actualPort();
    }

    void close() {
      Await.result(server.close(), 10);
    }
  }
}
