package io.muxgate.origin;

import io.muxgate.support.Await;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestScope;
import io.muxgate.testing.CannedResponse;
import io.muxgate.testing.FaultActions;
import io.muxgate.testing.FaultOrigin;
import io.muxgate.testing.FaultPolicy;
import io.netty.handler.codec.http2.Http2Settings;
import io.vertx.core.Future;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * No stream goes to an origin before its SETTINGS are known (Vert.x completes {@code connect()} only on
 * the first SETTINGS frame, and only then does the pool hand the connection out), and a later SETTINGS
 * frame re-sets how many streams a connection may carry.
 */
class OriginSettingsTest {

  @RegisterExtension
  final TestScope scope = new TestScope();

  @Test
  void noBurstBeforeTheOriginsLateSettingsAnnounceALimitOfThree() {
    FaultOrigin origin = scope.track(FaultOrigin.builder()
      .initialSettingsDelay(Duration.ofMillis(200))
      .maxConcurrentStreams(3)
      .policy(FaultPolicy.always(FaultActions.respondAfter(Duration.ofMillis(50), CannedResponse.ok("ok"))))
      .start());
    // One connection allowed, so the limit of 3 bounds the origin's total concurrency as well.
    HttpClientAgent client = client(proxy(origin, new JsonObject().put("origin_max_connections", 1)));

    List<Future<Exchange>> responses = burst(client, 30);

    assertAllOk(responses);
    assertEquals(30, origin.stats().requestsReceived());
    assertEquals(1, origin.stats().connectionsAccepted());
    assertEquals(3, origin.stats().maxConcurrentStreams(), "streams in flight at once, at most the origin's 3");
  }

  @Test
  void laterSettingsLowerTheStreamsAConnectionCarries() {
    FaultOrigin origin = scope.track(FaultOrigin.start(FaultPolicy.always(FaultActions.ok("ok"))));
    HttpClientAgent client = client(proxy(origin, new JsonObject().put("origin_max_connections", 1)));
    assertAllOk(burst(client, 1));

    Await.result(Future.fromCompletionStage(origin.sendSettings(new Http2Settings().maxConcurrentStreams(2))));
    // The SETTINGS frame travels ahead of this response on the same connection, so once the response is
    // back the proxy has applied it.
    assertAllOk(burst(client, 1));
    CompletableFuture<Void> release = new CompletableFuture<>();
    origin.policy(FaultPolicy.always(FaultActions.respondWhenReleased(release, CannedResponse.ok("ok"))));
    List<Future<Exchange>> responses = burst(client, 10);
    origin.stats().await("two parked streams", s -> s.requestsReceived() == 4, Duration.ofSeconds(5));
    int parkedAtOnce = origin.stats().requestsReceived() - 2;
    release.complete(null);

    assertAllOk(responses);
    assertEquals(2, parkedAtOnce, "the parked burst filled only the 2 streams the new SETTINGS allow");
    assertEquals(12, origin.stats().requestsReceived());
    assertEquals(1, origin.stats().connectionsAccepted());
    assertEquals(2, origin.stats().maxConcurrentStreams());
  }

  private ProxyHarness proxy(FaultOrigin origin, JsonObject settings) {
    return scope.track(ProxyHarness.start(scope.vertx(), Map.of("z.json",
      zone("z", "z.test", List.of("h2c://" + origin.authority()), settings))));
  }

  private static List<Future<Exchange>> burst(HttpClientAgent client, int n) {
    List<Future<Exchange>> responses = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      responses.add(Exchange.get(client, "z.test", "/r" + i));
    }
    return responses;
  }

  private static void assertAllOk(List<Future<Exchange>> responses) {
    Await.result(Future.all(responses));
    responses.forEach(f -> assertEquals(200, f.result().status(), f.result().body()));
  }

  /** An h2c client to the proxy, kept reachable until tear-down: Vert.x closes a client once unreachable. */
  private HttpClientAgent client(ProxyHarness proxy) {
    HttpClientAgent client = proxy.h2cClient();
    scope.track(() -> client.close().await());
    return client;
  }

}
