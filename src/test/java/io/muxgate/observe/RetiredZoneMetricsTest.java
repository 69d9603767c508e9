package io.muxgate.observe;

import io.muxgate.support.Await;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.Future;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpMethod;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import java.util.stream.StreamSupport;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * /metrics shows the zones and origins configured now: the series of a zone whose file is deleted, and
 * of an origin a zone no longer lists, leave once the reload retired them; other series stay as they were.
 */
class RetiredZoneMetricsTest {

  @RegisterExtension
  final TestScope scope = new TestScope();
  private TestOrigin shopOrigin;
  private TestOrigin blogOrigin;
  private ProxyHarness proxy;
  private HttpClientAgent client;

  @BeforeEach
  void setUp() {
    shopOrigin = scope.startOrigin(TestOrigin.Mode.H2C);
    blogOrigin = scope.startOrigin(TestOrigin.Mode.H2C);
    proxy = scope.startProxy(Map.of(
      "shop.json", zone("shop", "shop.test", List.of(shopOrigin.url()), null),
      "blog.json", zone("blog", "blog.test", List.of(blogOrigin.url()), null)));
    client = proxy.h2cClient();
  }

  @Test
  void aDeletedZonesSeriesLeaveAndOtherZonesKeepTheirs() throws IOException {
    get("shop.test", 200);
    get("blog.test", 200);
    get("blog.test", 200);
    shopOrigin.close();
    get("shop.test", 521);
    String before = scrape();
    assertTrue(seriesOf(before, "shop").size() >= 6, "shop's series before: " + seriesOf(before, "shop"));
    List<String> blog = seriesOf(before, "blog");

    Files.delete(proxy.tenantsDir().resolve("shop.json"));

    Await.until(() -> seriesOf(scrape(), "shop").isEmpty(), 10_000, "shop's series to leave /metrics");
    assertEquals(421, Await.result(Exchange.get(client, "shop.test", "/")).status(), "the zone is gone");
    String after = scrape();
    assertEquals(blog, seriesOf(after, "blog"), "blog's series untouched");
    assertTrue(seriesOf(after, "shop").isEmpty(), "a refused request does not bring shop back: "
      + seriesOf(after, "shop"));

    proxy.writeZone("shop.json", zone("shop", "shop.test", List.of(blogOrigin.url()), null));
    // Until every event loop has the file back, shop.test gets 421, which counts for no zone.
    Await.until(() -> Await.result(Exchange.get(client, "shop.test", "/")).status() == 200, 10_000,
      "shop to come back");
    String back = scrape();
    assertTrue(back.lines().anyMatch(l -> l.equals("muxgate_requests_total{code=\"200\",zone=\"shop\"} 1.0")),
      "a zone that comes back counts from 0: " + seriesOf(back, "shop"));
    assertTrue(back.contains("muxgate_origin_connections{origin=\"" + blogOrigin.url()
      + "\",protocol=\"h2\",zone=\"shop\"} 1.0"), "its pool's gauges are exported: " + seriesOf(back, "shop"));
  }

  @Test
  void anOriginTheZoneNoLongerListsLeavesAndTheZoneKeepsItsCounts() {
    TestOrigin replacement = scope.startOrigin(TestOrigin.Mode.H2C);
    get("shop.test", 200);
    String old = "origin=\"" + shopOrigin.url() + "\"";
    Await.until(() -> scrape().contains(old), "the first origin's series");

    proxy.writeZone("shop.json", zone("shop", "shop.test", List.of(replacement.url()), null));

    Await.until(() -> !scrape().contains(old), 10_000, "the first origin's series to leave /metrics");
    get("shop.test", 200);
    assertEquals(1, replacement.requests());
    String after = scrape();
    assertTrue(after.lines().anyMatch(l -> l.equals("muxgate_requests_total{code=\"200\",zone=\"shop\"} 2.0")),
      "the zone's counts go on: " + seriesOf(after, "shop"));
    assertTrue(after.contains("muxgate_origin_connections_opened_total{origin=\"" + replacement.url()
      + "\",protocol=\"h2\",zone=\"shop\"} 1.0"), "the new origin's series: " + seriesOf(after, "shop"));
  }

  @Test
  void anOriginStillCarryingAStreamKeepsItsSeriesThroughALaterReload() {
    TestOrigin replacement = scope.startOrigin(TestOrigin.Mode.H2C);
    shopOrigin.park();
    Future<Exchange> inFlight = Exchange.get(client, "shop.test", "/long");
    shopOrigin.awaitInFlight(1);
    String leaving = "{origin=\"" + shopOrigin.url() + "\",protocol=\"h2\",zone=\"shop\"} 1.0";

    proxy.writeZone("shop.json", zone("shop", "shop.test", List.of(replacement.url()), null));
    awaitRetired(shopOrigin);
    // A later reload, of another zone, whose retired origin leaves /metrics.
    get("blog.test", 200);
    String blogOld = "origin=\"" + blogOrigin.url() + "\"";
    proxy.writeZone("blog.json", zone("blog", "blog.test", List.of(replacement.url()), null));
    Await.until(() -> !scrape().contains(blogOld), 10_000, "blog's former origin to leave /metrics");

    String during = scrape();
    assertTrue(during.contains("muxgate_origin_connections" + leaving)
      && during.contains("muxgate_origin_streams_active{origin=\"" + shopOrigin.url() + "\",zone=\"shop\"} 1.0"),
      "shop's former origin still carries a stream on its open connection: " + seriesOf(during, "shop"));

    shopOrigin.release();
    assertEquals(200, Await.result(inFlight).status());
    Await.until(() -> !scrape().contains("origin=\"" + shopOrigin.url() + "\""), 10_000,
      "shop's former origin to leave /metrics once its connection closed");
  }

  @Test
  void aDeletedZoneStillCarryingAStreamKeepsItsSeriesThroughALaterReload() throws IOException {
    get("blog.test", 200);
    shopOrigin.park();
    Future<Exchange> inFlight = Exchange.get(client, "shop.test", "/long");
    shopOrigin.awaitInFlight(1);

    Files.delete(proxy.tenantsDir().resolve("shop.json"));
    awaitRetired(shopOrigin);
    String blogOld = "origin=\"" + blogOrigin.url() + "\"";
    proxy.writeZone("blog.json", zone("blog", "blog.test", List.of(scope.startOrigin(TestOrigin.Mode.H2C).url()),
      null));
    Await.until(() -> !scrape().contains(blogOld), 10_000, "blog's former origin to leave /metrics");

    assertTrue(scrape().contains("muxgate_origin_streams_active{origin=\"" + shopOrigin.url()
      + "\",zone=\"shop\"} 1.0"), "the deleted zone's stream still runs: " + seriesOf(scrape(), "shop"));

    shopOrigin.release();
    assertEquals(200, Await.result(inFlight).status());
    Await.until(() -> seriesOf(scrape(), "shop").isEmpty(), 10_000, "shop's series to leave once its pool closed");
  }

  /** Waits until the reload is in force on every event loop and the pool of {@code origin} retired. */
  private void awaitRetired(TestOrigin origin) {
    Await.until(() -> StreamSupport.stream(proxy.app().pools().all().spliterator(), false)
      .noneMatch(pool -> pool.peer().address().toString().equals(origin.url())), 10_000,
      "the pool of " + origin.url() + " to be retired");
  }

  private void get(String host, int status) {
    assertEquals(status, Await.result(Exchange.get(client, host, "/")).status());
  }

  /** The muxgate_ sample lines labelled with {@code zone}. */
  private static List<String> seriesOf(String metrics, String zone) {
    return metrics.lines().filter(l -> l.startsWith("muxgate_") && l.contains("zone=\"" + zone + "\"")).toList();
  }

  private String scrape() {
    HttpClientAgent admin = scope.vertx().createHttpClient();
    try {
      return Await.result(admin.request(HttpMethod.GET, proxy.adminPort(), "127.0.0.1", "/metrics")
        .compose(req -> req.send().compose(resp -> resp.body()))).toString();
    } finally {
      admin.close();
    }
  }
}
