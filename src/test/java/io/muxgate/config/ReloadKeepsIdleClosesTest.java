package io.muxgate.config;

import io.muxgate.support.Await;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.Future;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A reload that retires a pool (here a zone removed while a request of it is in flight) closes that pool's
 * HTTP client; the other pools' upkeep, idle closes included, goes on.
 */
class ReloadKeepsIdleClosesTest {

  @RegisterExtension
  final TestScope scope = new TestScope();

  @Test
  void idleConnectionsOfOtherZonesStillCloseAfterAReloadRetiredAPool() throws IOException {
    TestOrigin kept = scope.startOrigin(TestOrigin.Mode.H2C);
    TestOrigin leaving = scope.startOrigin(TestOrigin.Mode.H2C);
    ProxyHarness proxy = scope.startProxy(Map.of(
      "k.json", zone("k", "k.test", List.of(kept.url()), new JsonObject().put("origin_idle_timeout", 1)),
      "f.json", zone("f", "f.test", List.of(leaving.url()), null)));
    HttpClientAgent client = proxy.h2cClient();
    ReloadWatch watch = scope.track(new ReloadWatch(scope.vertx(), proxy));

    leaving.park();
    Future<Exchange> inFlight = Exchange.get(client, "f.test", "/long");
    leaving.awaitInFlight(1);
    watch.mark();
    Files.delete(proxy.tenantsDir().resolve("f.json"));
    watch.awaitInForce();
    leaving.release();
    assertEquals(200, Await.result(inFlight).status());
    Await.until(() -> leaving.openConnections() == 0, 5_000, "the retired pool's connection to close");

    assertEquals(200, Await.result(Exchange.get(client, "k.test", "/")).status());
    Await.until(() -> kept.openConnections() == 0, 5_000, "k's idle connection to close after 1 s");
  }
}
