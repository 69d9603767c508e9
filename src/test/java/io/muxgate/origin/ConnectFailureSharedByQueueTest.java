package io.muxgate.origin;

import io.muxgate.admin.AdminApi;
import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.RefusedPort;
import io.muxgate.support.TcpTable;
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
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Requests that queue while the pool opens a connection share that attempt's fate: when it fails and
 * nothing else in the pool can serve them, each gets its failure when the attempt ends (a 52x, or a
 * failover to another origin), not after one more attempt of its own. An audit saw 1 of 20 requests to
 * a silent h2 origin answered at the setup deadline and the other 19 at up to twice that.
 *
 * <p>Not timed (a busy machine stretches any interval): one more attempt per request shows as one more
 * connection the origin accepts, or a SYN the kernel's table lists, or a second attempt that succeeds.
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

    List<Future<Exchange>> answers = burst(client, REQUESTS);

    // A connect the origin never accepts is seen in the kernel's table, as SYN_SENT, while it lasts.
    Set<Integer> connects = new HashSet<>();
    Await.until(() -> {
      if (failure == Failure.TCP_CONNECT_TIMEOUT) {
        connects.addAll(TcpTable.connectingTo(port(url)));
      }
      return answers.stream().allMatch(Future::isComplete);
    }, 10 * failure.attemptEndsMs, "every answer");
    for (Future<Exchange> answer : answers) {
      Exchange exchange = Await.result(answer, 1);
      assertEquals(failure.status, exchange.status(), exchange.body());
      assertEquals(failure.reason, exchange.header("muxgate-error"));
    }
    if (silent != null) {
      assertEquals(1, silent.stats().connectionsAccepted(), "one attempt for the whole burst");
    }
    if (failure == Failure.TCP_CONNECT_TIMEOUT) {
      assertEquals(1, connects.size(), "one attempt for the whole burst, from local ports " + connects);
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

    List<Future<Exchange>> answers = burst(client, REQUESTS);

    // Released once the burst is shared out: held up to the setup deadline, which the read timeout bounds
    // from below, the healthy origin's answers would race their own read timeout.
    AdminApi admin = new AdminApi(scope.vertx(), proxy.adminPort());
    String queuedAtSilent = "origin=\"h2c://" + silent.authority() + "\",zone=\"z\"";
    Await.until(() -> healthy.requests() + admin.metric("muxgate_origin_requests_queued", queuedAtSilent) == REQUESTS,
      "every request at the healthy origin or queued on the silent one's attempt");
    double queued = REQUESTS - healthy.requests();
    healthy.release();
    Await.until(() -> healthy.requests() == REQUESTS, 10 * SETUP_DEADLINE_MS, "every request at the healthy origin");
    double failedOver = admin.metric("muxgate_origin_replays_total", "reason=\"setup_timeout\",zone=\"z\"");
    assertTrue(failedOver >= 2, failedOver + " requests went to the silent origin: too few to tell");
    assertEquals(queued, failedOver, "every request queued on the silent origin failed over");
    for (Future<Exchange> answer : answers) {
      assertEquals(200, Await.result(answer, 30).status());
    }
    // Had those queued during the attempt waited for one more of their own, the origin would have accepted it.
    assertEquals(1, silent.stats().connectionsAccepted(), "one attempt for every request sent to it");
    assertEquals(0.0, admin.sumForZone("muxgate_origin_errors_total", "z"), "a failover is no origin error");
    Await.until(() -> admin.metric("muxgate_requests_total", "code=\"200\",zone=\"z\"") == REQUESTS,
      "every request counted");
  }

  /**
   * The same with a read timeout shorter than the connect timeout, where the setup deadline, twice the
   * connect timeout, comes after the queued requests' own bound, connect + read timeout: they wait for the
   * attempt to end and fail over, rather than get a 503 {@code origin_queue_timeout} that called the silent
   * origin busy while the other one could serve them.
   */
  @Test
  void requestsQueuedOnAFailedAttemptFailOverAlsoWithAReadTimeoutShorterThanTheConnectTimeout() {
    FaultOrigin silent = scope.track(FaultOrigin.builder().mode(ListenMode.ACCEPT_AND_STAY_SILENT).start());
    // Answers held a fifth of the read timeout keep the healthy origin's load up while the burst is shared
    // out, so that balancing sends part of it to the silent one.
    TestOrigin healthy = scope.startOrigin(TestOrigin.Mode.H2C)
      .handler(request -> scope.vertx().setTimer(200, id -> request.response().end("ok")));
    JsonObject settings = new JsonObject().put("proxy_connect_timeout", CONNECT_TIMEOUT_S).put("proxy_read_timeout", 1);
    ProxyHarness proxy = scope.startProxy(Map.of("z.json",
      ProxyHarness.zone("z", "z.test", List.of("h2c://" + silent.authority(), healthy.url()), settings)));
    HttpClientAgent client = scope.client(ClientKind.HTTP1, proxy);

    for (Future<Exchange> answer : burst(client, REQUESTS)) {
      Exchange exchange = Await.result(answer, 30);
      assertEquals(200, exchange.status(), exchange.header("muxgate-error"));
    }
    AdminApi admin = new AdminApi(scope.vertx(), proxy.adminPort());
    double failedOver = admin.metric("muxgate_origin_replays_total", "reason=\"setup_timeout\",zone=\"z\"");
    assertTrue(failedOver >= 1, "no request went to the silent origin: the test tells nothing");
    assertEquals(1, silent.stats().connectionsAccepted(), "one attempt for every request sent to it");
  }

  @Test
  void afterAFailedAttemptTheNextOneServesTheRequestsQueuedForIt() {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C);
    SilentOnceRelay relay = new SilentOnceRelay(scope.vertx(), origin.port());
    scope.track(relay::close);
    ProxyHarness proxy = scope.startProxy(Map.of("z.json", zone(List.of("h2c://127.0.0.1:" + relay.port()))));
    HttpClientAgent client = scope.client(ClientKind.HTTP1, proxy);

    // A request that waited for one more attempt of its own would get 200 from it, not the first one's 524.
    for (Future<Exchange> answer : burst(client, REQUESTS)) {
      assertEquals(524, Await.result(answer, 30).status(), "queued on the attempt that failed");
    }

    for (Future<Exchange> answer : burst(client, REQUESTS)) {
      Exchange exchange = Await.result(answer, 30);
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

  /** {@code n} requests sent at once, each on a connection of its own. */
  private static List<Future<Exchange>> burst(HttpClientAgent client, int n) {
    List<Future<Exchange>> burst = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      burst.add(Exchange.get(client, "z.test", "/" + i));
    }
    return burst;
  }

  private static int port(String url) {
    return Integer.parseInt(url.substring(url.lastIndexOf(':') + 1));
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
