package io.muxgate.origin;

import io.muxgate.admin.AdminApi;
import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestScope;
import io.muxgate.testing.FaultOrigin;
import io.muxgate.testing.FullAcceptQueuePort;
import io.vertx.core.Future;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A connection whose TCP connect succeeded but whose origin sends its first SETTINGS late. Only the TCP
 * connect is bounded by {@code proxy_connect_timeout} (522); the SETTINGS are the origin's to answer, as a
 * response is, within {@code proxy_read_timeout} (524). The whole setup used to be bounded by twice the
 * connect timeout, with a 522: a cold burst on a busy event loop read an origin's prompt SETTINGS seconds
 * late, and every request queued on the one connection allowed got a 522 from an origin that answered.
 */
class SlowOriginSetupTest {

  private static final int REQUESTS = 20;
  private static final int CONNECT_TIMEOUT_S = 1;

  @RegisterExtension
  final TestScope scope = new TestScope();

  @Test
  void settingsLaterThanTwiceTheConnectTimeoutButWithinTheReadTimeoutServeTheWholeQueue() {
    FaultOrigin origin = scope.track(FaultOrigin.builder()
      .initialSettingsDelay(Duration.ofSeconds(3 * CONNECT_TIMEOUT_S)).start());
    ProxyHarness proxy = scope.startProxy(Map.of("z.json", zone("h2c://" + origin.authority(), 10)));

    for (Exchange exchange : burst(proxy)) {
      assertEquals(200, exchange.status(), exchange.body());
    }
    assertEquals(1, origin.stats().connectionsAccepted(), "the one connection allowed serves the burst");
    assertEquals(0.0, abandoned(proxy, origin), "no socket given up");
  }

  @Test
  void settingsLaterThanTheReadTimeoutGive524ToEveryQueuedRequest() {
    int readTimeoutS = 3 * CONNECT_TIMEOUT_S;
    FaultOrigin origin = scope.track(FaultOrigin.builder()
      .initialSettingsDelay(Duration.ofSeconds(5 * readTimeoutS)).start());
    ProxyHarness proxy = scope.startProxy(Map.of("z.json", zone("h2c://" + origin.authority(), readTimeoutS)));

    for (Exchange exchange : burst(proxy)) {
      assertEquals(524, exchange.status(), exchange.body());
      assertEquals("setup_timeout", exchange.header("muxgate-error"));
    }
    assertEquals(1, origin.stats().connectionsAccepted(), "one attempt for the whole burst");
    AdminApi admin = new AdminApi(scope.vertx(), proxy.adminPort());
    Await.until(() -> admin.metric("muxgate_origin_errors_total", "code=\"524\",zone=\"z\"") == REQUESTS,
      "one origin error per request");
    Await.until(() -> abandoned(proxy, origin) == 1.0, "the socket closed unready is counted");
  }

  /**
   * A read timeout shorter than the connect timeout puts the queued requests' own bound, connect + read
   * timeout (4 s here), before the setup deadline, twice the connect timeout (6 s). SETTINGS between the
   * two still serve the queue: those requests wait for a connection being opened, not behind full ones,
   * and used to get 503 {@code origin_queue_timeout} at their bound from an origin about to answer.
   */
  @Test
  void settingsAfterConnectPlusReadTimeoutButWithinTheSetupDeadlineServeTheWholeQueue() {
    int connectTimeoutS = 3;
    FaultOrigin origin = scope.track(FaultOrigin.builder()
      .initialSettingsDelay(Duration.ofSeconds(connectTimeoutS + 2)).start());
    ProxyHarness proxy = scope.startProxy(Map.of("z.json", zone("h2c://" + origin.authority(), connectTimeoutS, 1)));

    for (Exchange exchange : burst(proxy)) {
      assertEquals(200, exchange.status(), exchange.body());
    }
    assertEquals(1, origin.stats().connectionsAccepted(), "the one connection allowed serves the burst");
  }

  @Test
  void aTcpConnectThatDoesNotCompleteIsStill522() throws IOException {
    FullAcceptQueuePort blackhole = scope.track(FullAcceptQueuePort.open());
    ProxyHarness proxy = scope.startProxy(Map.of("z.json", zone("h2c://127.0.0.1:" + blackhole.port(), 10)));

    for (Exchange exchange : burst(proxy)) {
      assertEquals(522, exchange.status(), exchange.body());
      assertEquals("connect_timeout", exchange.header("muxgate-error"));
    }
  }

  /** {@link #REQUESTS} requests at once, each on a client connection of its own, and their answers. */
  private List<Exchange> burst(ProxyHarness proxy) {
    HttpClientAgent client = scope.client(ClientKind.HTTP1, proxy);
    List<Future<Exchange>> answers = new ArrayList<>();
    for (int i = 0; i < REQUESTS; i++) {
      answers.add(Exchange.get(client, "z.test", "/" + i));
    }
    return answers.stream().map(answer -> Await.result(answer, 30)).toList();
  }

  private double abandoned(ProxyHarness proxy, FaultOrigin origin) {
    return new AdminApi(scope.vertx(), proxy.adminPort()).metric("muxgate_origin_connections_abandoned_total",
      "origin=\"h2c://" + origin.authority() + "\",zone=\"z\"");
  }

  private static JsonObject zone(String origin, int readTimeoutSeconds) {
    return zone(origin, CONNECT_TIMEOUT_S, readTimeoutSeconds);
  }

  private static JsonObject zone(String origin, int connectTimeoutSeconds, int readTimeoutSeconds) {
    JsonObject settings = new JsonObject().put("proxy_connect_timeout", connectTimeoutSeconds)
      .put("proxy_read_timeout", readTimeoutSeconds).put("origin_max_connections", 1);
    return ProxyHarness.zone("z", "z.test", List.of(origin), settings);
  }
}
