package io.muxgate.origin;

import io.muxgate.admin.AdminApi;
import io.muxgate.support.Await;
import io.muxgate.support.CapturedLog;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.Future;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Thousands of requests queue behind a full pool, until the queue is full and the next is refused with
 * 503 and {@code retry-after}. Their clients go away: the requests leave the queue at once (they would
 * otherwise hold its places, and live requests would get 503 while the origin works through the dead),
 * none reaches the origin, and the zone serves on.
 */
class AbandonedQueueTest {

  /** A full queue: the request after these is refused. */
  private static final int QUEUED = WaitQueue.CAPACITY;
  private static final JsonObject ONE_STREAM = new JsonObject()
    .put("origin_max_connections", 1).put("origin_h2_max_streams", 1);
  private static final String QUEUED_METRIC = "muxgate_origin_requests_queued";

  @RegisterExtension
  final TestScope scope = new TestScope();

  @Test
  void anAbandonedQueueDrainsAndTheZoneServesOn() {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).park();
    ProxyHarness proxy = scope.startProxy("z", origin.url(), ONE_STREAM);
    CapturedLog errors = scope.track(CapturedLog.warningsUnder("io.vertx", "io.netty", "io.muxgate"));
    AdminApi admin = new AdminApi(scope.vertx(), proxy.adminPort());
    String labels = "origin=\"" + origin.url() + "\",zone=\"z\"";
    HttpClientAgent holder = scope.client(ClientKind.H2C, proxy);
    Future<Exchange> first = Exchange.get(holder, "z.test", "/first");
    origin.awaitInFlight(1);

    // Enough h2c connections for every request to be in flight at once (128 streams each).
    HttpClientAgent leaving = scope.vertx().createHttpClient(new HttpClientOptions()
        .setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false)
        .setDefaultHost("127.0.0.1").setDefaultPort(proxy.httpPort()),
      new PoolOptions().setHttp2MaxSize(QUEUED / 100));
    List<Future<Exchange>> abandoned = new ArrayList<>();
    for (int i = 0; i < QUEUED; i++) {
      abandoned.add(Exchange.get(leaving, "z.test", "/queued/" + i));
    }
    Await.until(() -> admin.metric(QUEUED_METRIC, labels) == QUEUED, "every request to queue");
    Exchange refused = Await.result(Exchange.get(holder, "z.test", "/one-too-many"));
    assertEquals(503, refused.status());
    assertEquals("origin_queue_full", refused.header("muxgate-error"));
    assertEquals("1", refused.header("retry-after"));
    Await.result(leaving.close(), 10);
    abandoned.forEach(f -> Await.until(f::isComplete, "the client's requests to end with its connections"));

    Await.until(() -> admin.metric(QUEUED_METRIC, labels) == 0, "the abandoned requests to leave the queue");
    origin.release();

    assertEquals(200, Await.result(first).status());
    assertEquals(200, Await.result(Exchange.get(holder, "z.test", "/after")).status());
    assertEquals(0.0, admin.metric("muxgate_origin_streams_active", labels));
    assertEquals(2, origin.requests(), "no abandoned request reached the origin");
    assertEquals(List.of(), errors.lines());
  }
}
