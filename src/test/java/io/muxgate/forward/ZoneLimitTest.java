package io.muxgate.forward;

import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.Future;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** A zone at its max_concurrent_requests answers the next request 503 with retry-after; it reaches no origin. */
class ZoneLimitTest {

  @RegisterExtension
  final TestScope scope = new TestScope();

  @Test
  void aRequestOverTheZonesLimitGets503WithRetryAfter() {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).park();
    ProxyHarness proxy = scope.startProxy("z", origin.url(), new JsonObject().put("max_concurrent_requests", 1));
    HttpClientAgent client = scope.client(ClientKind.H2C, proxy);
    Future<Exchange> first = Exchange.get(client, "z.test", "/first");
    origin.awaitInFlight(1);

    Exchange refused = Await.result(Exchange.get(client, "z.test", "/second"));

    assertEquals(503, refused.status());
    assertEquals("zone_overloaded", refused.header("muxgate-error"));
    assertEquals("1", refused.header("retry-after"));
    assertEquals("error code: 503", refused.body());
    origin.release();
    assertEquals(200, Await.result(first).status());
    assertEquals(1, origin.requests(), "the refused request reached no origin");
  }
}
