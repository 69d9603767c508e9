package io.muxgate.origin;

import io.muxgate.support.Await;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.impl.CleanableHttpClient;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.StreamSupport;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Each reload that changes a zone's origin settings retires its pools; what a retired pool held must go
 * with it. Vert.x 5.0 keeps every HTTP client it made in the close future of the context that made it,
 * closed or not, so without care each such reload would leave a client behind for the life of the process.
 */
class RetiredPoolClientTest {

  @RegisterExtension
  final TestScope scope = new TestScope();

  @Test
  void poolsRetiredByReloadsLeaveNoClientBehind() {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C);
    ProxyHarness proxy = scope.startProxy(Map.of("z.json", zone("z", "z.test", List.of(origin.url()), null)));
    HttpClientAgent client = proxy.h2cClient();

    List<WeakReference<Object>> retired = new ArrayList<>();
    for (int timeout = 10; timeout < 13; timeout++) {
      assertEquals(200, Await.result(Exchange.get(client, "z.test", "/")).status());
      OriginPool pool = onlyPool(proxy);
      retired.add(new WeakReference<>(((CleanableHttpClient) pool.clientForTest()).delegate));
      proxy.writeZone("z.json", zone("z", "z.test", List.of(origin.url()),
        new JsonObject().put("proxy_connect_timeout", timeout)));
      Await.until(() -> !poolsOf(proxy).contains(pool) && poolsOf(proxy).size() == 1, 10_000,
        "the reload to replace the zone's pool");
    }
    assertEquals(200, Await.result(Exchange.get(client, "z.test", "/")).status());

    Await.until(() -> {
      System.gc();
      return retired.stream().allMatch(ref -> ref.get() == null);
    }, 10_000, "the clients of the retired pools to be collected");
  }

  private static OriginPool onlyPool(ProxyHarness proxy) {
    List<OriginPool> pools = poolsOf(proxy);
    assertEquals(1, pools.size());
    return pools.get(0);
  }

  private static List<OriginPool> poolsOf(ProxyHarness proxy) {
    return StreamSupport.stream(proxy.app().pools().all().spliterator(), false).toList();
  }
}
