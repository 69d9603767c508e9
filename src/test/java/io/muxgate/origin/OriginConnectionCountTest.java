package io.muxgate.origin;

import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The headline behaviour: a burst opens exactly as many origin connections as the stream cap needs,
 * and a connection never carries more streams than min(zone cap, origin's SETTINGS limit).
 */
class OriginConnectionCountTest {

  @RegisterExtension
  final TestScope scope = new TestScope();

  private static final int BURST = 250;

  @ParameterizedTest(name = "cap {0}, origin limit {1} -> {2} connections")
  @CsvSource({"100, 1000, 3", "10, 1000, 25", "100, 20, 13"})
  void burstOpensOnlyTheConnectionsTheStreamCapNeeds(int cap, int originLimit, int expectedConnections) {
    TestOrigin origin = scope.track(TestOrigin.start(scope.vertx(), TestOrigin.Mode.H2C,
      o -> o.setInitialSettings(new Http2Settings().setMaxConcurrentStreams(originLimit)))).park();
    ProxyHarness proxy = scope.track(ProxyHarness.start(scope.vertx(), Map.of("z.json",
      zone("z", "z.test", List.of(origin.url()), new JsonObject().put("origin_h2_max_streams", cap)))));
    HttpClientAgent client = proxy.h2cClient();

    List<Future<Exchange>> responses = burst(client, "z.test", BURST);
    origin.awaitInFlight(BURST);

    assertEquals(expectedConnections, origin.connectionsAccepted(), "origin connections for the burst");
    assertTrue(origin.maxStreamsOnOneConnection() <= Math.min(cap, originLimit),
      "at most " + Math.min(cap, originLimit) + " streams per connection, saw " + origin.maxStreamsOnOneConnection());
    origin.release();
    assertAllSucceeded(responses);
    assertEquals(expectedConnections, origin.connectionsAccepted(), "no connection opened after the burst");
  }

  /**
   * An {@code http://} origin that takes the h2c Upgrade is an HTTP/2 origin once it has: a burst opens
   * the connections the stream cap needs, not one per request up to the zone's cap (it opened 64).
   */
  @Test
  void burstToAnHttpOriginTakingTheUpgradeOpensOnlyTheConnectionsTheStreamCapNeeds() {
    AtomicInteger connections = new AtomicInteger();
    AtomicInteger inFlight = new AtomicInteger();
    Promise<Void> release = Promise.promise();
    HttpServer origin = Await.result(scope.vertx().createHttpServer()
      .connectionHandler(connection -> connections.incrementAndGet())
      .requestHandler(request -> {
        if (request.method() == HttpMethod.OPTIONS) {
          request.response().end(); // the Upgrade's preflight
          return;
        }
        inFlight.incrementAndGet();
        release.future().onComplete(v -> request.response().end("hello"));
      })
      .listen(0, "127.0.0.1"));
    ProxyHarness proxy = scope.track(ProxyHarness.start(scope.vertx(), Map.of("z.json", zone("z", "z.test",
      List.of("http://127.0.0.1:" + origin.actualPort()), new JsonObject().put("origin_h2_max_streams", 100)))));

    // Held by the scope: a client made and dropped in one expression is closed by Vert.x once collected, and a
    // GC during a cold, loaded burst failed all 250 requests ("Pool closed") before any reached the origin.
    List<Future<Exchange>> responses = burst(scope.client(ClientKind.H2C, proxy), "z.test", BURST);
    Await.until(() -> inFlight.get() == BURST || responses.stream().anyMatch(Future::isComplete), 60_000,
      "every request at the origin");
    assertNoneAnswered(responses);

    assertEquals(3, connections.get(), "origin connections for the burst");
    release.complete();
    assertAllSucceeded(responses);
    assertEquals(3, connections.get(), "no connection opened after the burst");
  }

  @Test
  void twoZonesOnOneOriginKeepSeparatePools() {
    TestOrigin origin = scope.track(TestOrigin.start(scope.vertx(), TestOrigin.Mode.H2C)).park();
    ProxyHarness proxy = scope.track(ProxyHarness.start(scope.vertx(), Map.of(
      "a.json", zone("a", "a.test", List.of(origin.url()), new JsonObject().put("origin_h2_max_streams", 10)),
      "b.json", zone("b", "b.test", List.of(origin.url()), new JsonObject().put("origin_h2_max_streams", 50)))));
    HttpClientAgent client = proxy.h2cClient();

    List<Future<Exchange>> responses = new ArrayList<>(burst(client, "a.test", 20));
    responses.addAll(burst(client, "b.test", 50));
    origin.awaitInFlight(70);

    // Zone a: 20 requests at cap 10 = 2 connections; zone b: 50 at cap 50 = 1. Shared, they would fit in 1.
    assertEquals(3, origin.connectionsAccepted());
    origin.release();
    assertAllSucceeded(responses);
  }

  @Test
  void http1FallbackOverTlsRunsRequestsInParallel() {
    TestOrigin origin = scope.track(TestOrigin.start(scope.vertx(), TestOrigin.Mode.TLS_H1)).park();
    ProxyHarness proxy = scope.track(ProxyHarness.start(scope.vertx(), Map.of("z.json",
      zone("z", "z.test", List.of(origin.url()), null).put("origin_tls_verify", false))));
    HttpClientAgent client = proxy.h2cClient();

    List<Future<Exchange>> responses = burst(client, "z.test", 50);
    origin.awaitInFlight(50);

    assertEquals(50, origin.connectionsAccepted(), "one HTTP/1.1 connection per request in flight");
    assertTrue(origin.versions().stream().allMatch(v -> v == HttpVersion.HTTP_1_1));
    origin.release();
    assertAllSucceeded(responses);
  }

  @Test
  void maxHttpVersionOneNeverNegotiatesH2() {
    TestOrigin origin = scope.track(TestOrigin.start(scope.vertx(), TestOrigin.Mode.TLS_H2));
    ProxyHarness proxy = scope.track(ProxyHarness.start(scope.vertx(), Map.of("z.json",
      zone("z", "z.test", List.of(origin.url()), new JsonObject().put("origin_max_http_version", "1"))
        .put("origin_tls_verify", false))));
    HttpClientAgent client = proxy.h2cClient();

    assertAllSucceeded(burst(client, "z.test", 5));

    assertEquals(5, origin.requests());
    assertTrue(origin.versions().stream().allMatch(v -> v == HttpVersion.HTTP_1_1), "versions " + origin.versions());
  }

  /** h2c is HTTP/2 by prior knowledge: the setting has nothing to turn off there, and the streams multiplex. */
  @Test
  void maxHttpVersionOneLeavesAnH2cOriginOnHttp2() {
    TestOrigin origin = scope.track(TestOrigin.start(scope.vertx(), TestOrigin.Mode.H2C)).park();
    ProxyHarness proxy = scope.track(ProxyHarness.start(scope.vertx(), Map.of("z.json",
      zone("z", "z.test", List.of(origin.url()), new JsonObject().put("origin_max_http_version", "1")))));
    HttpClientAgent client = proxy.h2cClient();

    List<Future<Exchange>> responses = burst(client, "z.test", 5);
    origin.awaitInFlight(5);

    assertEquals(1, origin.connectionsAccepted(), "five streams on one connection");
    assertTrue(origin.versions().stream().allMatch(v -> v == HttpVersion.HTTP_2), "versions " + origin.versions());
    origin.release();
    assertAllSucceeded(responses);
  }

  private static List<Future<Exchange>> burst(HttpClientAgent client, String host, int n) {
    List<Future<Exchange>> responses = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      responses.add(Exchange.get(client, host, "/r" + i));
    }
    return responses;
  }

  /** While the origin holds every response, none can have come: one that did says why it failed. */
  private static void assertNoneAnswered(List<Future<Exchange>> responses) {
    for (Future<Exchange> f : responses) {
      assertTrue(!f.isComplete(), () -> "answered while the origin held every response: "
        + (f.failed() ? f.cause() : f.result().status() + " " + f.result().body()));
    }
  }

  private static void assertAllSucceeded(List<Future<Exchange>> responses) {
    Await.result(Future.all(responses));
    for (Future<Exchange> f : responses) {
      assertEquals(200, f.result().status(), f.result().body());
      assertEquals("hello", f.result().body());
    }
  }
}
