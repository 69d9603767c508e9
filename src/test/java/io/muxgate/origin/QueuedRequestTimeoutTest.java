package io.muxgate.origin;

import io.muxgate.admin.AdminApi;
import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.Future;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A request that waits for a stream because every connection the zone may open is full ends with 503
 * after connect + read timeout (the origin is busy, not failing: no 524 counted against it), while the
 * stream ahead of it, busy but not idle, keeps going.
 */
class QueuedRequestTimeoutTest {

  @RegisterExtension
  final TestScope scope = new TestScope();

  /** One stream on one connection: the second request has to queue. */
  private static final JsonObject ONE_STREAM = new JsonObject()
    .put("origin_max_connections", 1).put("origin_h2_max_streams", 1)
    .put("proxy_connect_timeout", 1).put("proxy_read_timeout", 1);
  private static final long QUEUE_BOUND_MS = 2_000;
  private static final long TICKS = 40;
  private static final long TICK_MS = 100;

  @Test
  void requestQueuedBehindAFullPoolGets503AfterConnectPlusReadTimeoutAndNeverReachesTheOrigin() {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(request -> {
      if (request.path().equals("/slow")) {
        trickle(request.response(), TICKS);
      } else {
        request.response().end("fast");
      }
    });
    ProxyHarness proxy = scope.startProxy("z", origin.url(), ONE_STREAM);
    HttpClientAgent client = scope.client(ClientKind.H2C, proxy);

    Future<Exchange> slow = Exchange.get(client, "z.test", "/slow");
    Await.until(() -> origin.inFlight() == 1, "the slow stream holds the only slot");
    long start = System.nanoTime();
    // The upper bound is structural: a request still queued when the slow stream's ~4 s of ticks free the
    // slot is served (200), so a 503 says the bound fired first. The wait is only bounded, at 10 x.
    Exchange queued = Await.result(Exchange.get(client, "z.test", "/fast"), 10 * QUEUE_BOUND_MS / 1_000);
    long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

    assertEquals(503, queued.status(), queued.body());
    assertEquals("origin_queue_timeout", queued.header("muxgate-error"));
    assertEquals("1", queued.header("retry-after"));
    assertEquals(0.0, new AdminApi(scope.vertx(), proxy.adminPort()).sumForZone("muxgate_origin_errors_total", "z"));
    // Not before its bound: measured from before the request was sent, so a busy machine only lengthens it.
    assertTrue(waitedMs >= QUEUE_BOUND_MS - 100, "answered after " + waitedMs + " ms");
    Exchange slowDone = Await.result(slow, 15);
    assertEquals(200, slowDone.status(), "a stream that keeps sending is not idle, whatever its age");
    assertEquals(TICKS, slowDone.body().length());
    assertEquals(1, origin.requests(), "the queued request never reached the origin");
    assertEquals(1, origin.connectionsAccepted());
  }

  /** Sends one byte every {@link #TICK_MS} ms, {@code ticks} times: ~4 s, longer than the read timeout. */
  private void trickle(HttpServerResponse response, long ticks) {
    response.setChunked(true);
    long[] sent = {0};
    scope.vertx().setPeriodic(TICK_MS, id -> {
      if (sent[0]++ < ticks) {
        response.write("x");
      } else {
        scope.vertx().cancelTimer(id);
        response.end();
      }
    });
  }
}
