package io.muxgate.config;

import io.muxgate.admin.AdminApi;
import io.muxgate.support.Await;
import io.muxgate.support.Bursts;
import io.muxgate.support.CapturedLog;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.Future;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Zone files edited, broken, added and removed while Muxgate runs: accepted changes reach every event
 * loop (awaited as the event that says so, not timed: a busy machine stretches any interval), rejected ones
 * leave the zone on its last good config.
 */
class HotReloadTest {

  @RegisterExtension
  final TestScope scope = new TestScope();

  private static JsonObject capped(String name, String host, String origin, int cap) {
    return zone(name, host, List.of(origin), new JsonObject().put("origin_h2_max_streams", cap));
  }

  private static void write(Path file, String text) {
    try {
      Files.writeString(file, text);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  /** A proxy with zone "a" (host a.test) on {@code origin}, scanning its zone files every {@code scanPeriodMs}. */
  private ProxyHarness startWithZoneA(TestOrigin origin, long scanPeriodMs) {
    return scope.startProxy(Map.of("a.json", capped("a", "a.test", origin.url(), 10)),
      new JsonObject().put("config_scan_period_ms", scanPeriodMs));
  }

  /** A client that opens a new connection per request, so that successive requests visit every event loop. */
  private HttpClientAgent freshConnections(ProxyHarness proxy) {
    return scope.vertx().createHttpClient(new HttpClientOptions().setDefaultHost("127.0.0.1")
      .setDefaultPort(proxy.httpPort()).setKeepAlive(false), new PoolOptions().setHttp1MaxSize(1));
  }

  /** Status codes of {@code n} requests for {@code host}, each on its own connection. */
  private static List<Integer> statuses(HttpClientAgent client, String host, int n) {
    List<Integer> statuses = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      statuses.add(Await.result(Exchange.get(client, host, "/probe")).status());
    }
    return statuses;
  }

  @Test
  void rejectedFilesKeepTheZoneOnItsLastGoodSettingsAndLeaveOtherZonesUntouched() {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C);
    CapturedLog log = scope.track(CapturedLog.infoFrom(ConfigVerticle.class));
    ProxyHarness proxy = scope.startProxy(Map.of(
      "a.json", capped("a", "a.test", origin.url(), 10),
      "b.json", capped("b", "b.test", origin.url(), 50)));
    ReloadWatch watch = scope.track(new ReloadWatch(scope.vertx(), proxy));
    AdminApi admin = new AdminApi(scope.vertx(), proxy.adminPort());
    Path a = proxy.tenantsDir().resolve("a.json");
    String good = capped("a", "a.test", origin.url(), 10).encodePrettily();

    write(a, good.substring(0, good.indexOf("\"origins\"")));
    Await.until(() -> admin.rejectedReloads() == 1, "the truncated file to be rejected");
    JsonObject zeroStreams = capped("a", "a.test", origin.url(), 0);
    write(a, zeroStreams.encodePrettily());
    Await.until(() -> admin.rejectedReloads() == 2, "origin_h2_max_streams 0 to be rejected");
    JsonObject longTimeout = capped("a", "a.test", origin.url(), 10);
    longTimeout.getJsonObject("settings").put("proxy_read_timeout", 99999);
    write(a, longTimeout.encodePrettily());
    Await.until(() -> admin.rejectedReloads() == 3, "proxy_read_timeout 99999 to be rejected");

    // Zone b still takes edits, and each one means several more scans have passed over the bad a.json.
    watch.mark();
    proxy.writeZone("b.json", capped("b", "b.test", origin.url(), 20));
    watch.awaitInForce();
    watch.mark();
    proxy.writeZone("b.json", capped("b", "b.test", origin.url(), 20).put("hosts", List.of("b.test", "b2.test")));
    watch.awaitInForce();

    assertEquals(List.of(
      "SEVERE zone file rejected, zone keeps its last good config: tenants/a.json: invalid JSON at line 4, column 3:"
        + " unexpected end of input (truncated file?)",
      "SEVERE zone file rejected, zone keeps its last good config: tenants/a.json:"
        + " settings.origin_h2_max_streams: must be 1..1000, got 0",
      "SEVERE zone file rejected, zone keeps its last good config: tenants/a.json:"
        + " settings.proxy_read_timeout: must be 1..6000, got 99999"), log.matching("rejected"));
    assertEquals(3, admin.rejectedReloads(), "each bad content counted once");
    assertEquals(10, admin.get("/zones/a/settings/origin_h2_max_streams").json().getJsonObject("result")
      .getInteger("value"));
    assertEquals(100, admin.get("/zones/a/settings/proxy_read_timeout").json().getJsonObject("result")
      .getInteger("value"));

    // Serving proves it: zone a still opens a connection per 10 streams, zone b per 20.
    origin.park();
    HttpClientAgent client = proxy.h2cClient();
    List<Future<Exchange>> responses = new ArrayList<>(Bursts.send(client, "a.test", "/a", 30));
    for (int i = 0; i < 40; i++) {
      responses.add(Exchange.get(client, i % 2 == 0 ? "b.test" : "b2.test", "/b" + i));
    }
    origin.awaitInFlight(70);
    assertEquals(3 + 2, origin.connectionsAccepted(), "3 connections for a at cap 10, 2 for b at cap 20");
    assertTrue(origin.maxStreamsOnOneConnection() <= 20);
    origin.release();
    Bursts.assertAllOk(responses);

    // Putting the last good content back changes no zone, but the operator is told the error is over.
    write(a, good);
    Await.until(() -> !log.matching("again").isEmpty(), "the restored file to be reported");
    assertEquals(List.of("INFO zone file accepted again: tenants/a.json"), log.matching("again"));
  }

  @Test
  void badZoneFileAtStartIsReportedAndTheOtherZonesServe() {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C);
    CapturedLog log = scope.track(CapturedLog.infoFrom(ConfigVerticle.class));
    ProxyHarness proxy = scope.startProxy(Map.of(
      "a.json", capped("a", "a.test", origin.url(), 10),
      "b.json", capped("b", "b.test", origin.url(), 0)));
    AdminApi admin = new AdminApi(scope.vertx(), proxy.adminPort());
    HttpClientAgent client = freshConnections(proxy);

    assertEquals(List.of(200, 200), statuses(client, "a.test", 2));
    assertEquals(List.of(421, 421), statuses(client, "b.test", 2));
    assertEquals(1, admin.rejectedReloads());
    assertEquals(List.of("SEVERE zone file rejected, zone not loaded: tenants/b.json:"
      + " settings.origin_h2_max_streams: must be 1..1000, got 0"), log.matching("rejected"));

    ReloadWatch watch = scope.track(new ReloadWatch(scope.vertx(), proxy)).mark();
    proxy.writeZone("b.json", capped("b", "b.test", origin.url(), 10));
    watch.awaitInForce();
    assertEquals(List.of(200, 200), statuses(client, "b.test", 2));
  }

  /** A line break in a rejected value, or in the file's name, is written escaped: one rejection, one line. */
  @Test
  void aRejectedValueWithALineBreakStaysOnItsOneLogLine() {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C);
    CapturedLog log = scope.track(CapturedLog.infoFrom(ConfigVerticle.class));
    ProxyHarness proxy = scope.startProxy(Map.of(
      "a.json", capped("a", "a.test", origin.url(), 10),
      "b\n.json", capped("b\nSEVERE forged", "b.test", origin.url(), 10),
      "c.json", capped("c", "c\r\n.test", origin.url(), 10)));

    assertEquals(List.of(
      "SEVERE zone file rejected, zone not loaded: tenants/b\\n.json: zone: must be letters, digits, '.', '_' or"
        + " '-', got \"b\\nSEVERE forged\"",
      "SEVERE zone file rejected, zone not loaded: tenants/c.json: hosts[0]: not a host name or *.wildcard:"
        + " \"c\\r\\n.test\""), log.matching("rejected"));
  }

  @Test
  void zoneAddedAndRemovedAtRunTimeAppliesOnEveryLoop() throws IOException {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C);
    ProxyHarness proxy = startWithZoneA(origin, 250);
    ReloadWatch watch = scope.track(new ReloadWatch(scope.vertx(), proxy));
    HttpClientAgent client = freshConnections(proxy);
    assertEquals(List.of(421, 421, 421, 421), statuses(client, "new.test", 4));

    watch.mark();
    proxy.writeZone("new.json", capped("new", "new.test", origin.url(), 10));
    watch.awaitInForce();
    assertEquals(List.of(200, 200, 200, 200), statuses(client, "new.test", 4));

    watch.mark();
    Files.delete(proxy.tenantsDir().resolve("a.json"));
    watch.awaitInForce();
    assertEquals(List.of(421, 421, 421, 421), statuses(client, "a.test", 4));
    assertEquals(List.of(200, 200), statuses(client, "new.test", 2));
  }

  /**
   * A proxy that has stopped reads no more zone files. Waiting for something not to happen takes a bounded
   * wait: ten scan periods, where a running proxy applies a new zone within two.
   */
  @Test
  void aStoppedProxyReadsNoMoreZoneFiles() throws InterruptedException {
    long scanPeriodMs = 100;
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C);
    ProxyHarness proxy = startWithZoneA(origin, scanPeriodMs);
    Await.result(proxy.app().shutdown(), 20);
    long version = proxy.app().zones().version();

    proxy.writeZone("new.json", capped("new", "new.test", origin.url(), 10));
    Thread.sleep(10 * scanPeriodMs);

    assertEquals(version, proxy.app().zones().version(), "zone snapshots made after the stop");
  }

  /**
   * The in-flight count a stop reports ("stopping: N request(s) in flight") takes in the requests of a zone
   * a reload removed while they were still running: they finish on their old pool, and the drain waits for
   * them. It summed only the zones of the current config.
   */
  @Test
  void requestsOfARemovedZoneStillCountAsInFlight() throws IOException {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).park();
    ProxyHarness proxy = scope.startProxy(Map.of(
      "a.json", capped("a", "a.test", origin.url(), 10),
      "gone.json", capped("gone", "gone.test", origin.url(), 10)));
    ReloadWatch watch = scope.track(new ReloadWatch(scope.vertx(), proxy));
    HttpClientAgent client = proxy.h2cClient();
    Future<Exchange> held = Exchange.get(client, "gone.test", "/held");
    origin.awaitInFlight(1);
    assertEquals(1, proxy.app().inFlight());

    watch.mark();
    Files.delete(proxy.tenantsDir().resolve("gone.json"));
    watch.awaitInForce();
    assertEquals(null, proxy.app().zones().byName("gone"));

    assertEquals(1, proxy.app().inFlight(), "the removed zone's request");
    origin.release();
    assertEquals(200, Await.result(held).status());
    Await.until(() -> proxy.app().inFlight() == 0, "the removed zone's request to be over");
  }

  @Test
  void settingsChangeReplacesThePoolAndTheOldPoolClosesOnceItsRequestsFinish() {
    CountingOrigin origin = scope.track(CountingOrigin.start(scope.vertx(), 0, 0));
    ProxyHarness proxy = scope.startProxy(Map.of("z.json", capped("z", "z.test", origin.url(), 10)));
    ReloadWatch watch = scope.track(new ReloadWatch(scope.vertx(), proxy));
    HttpClientAgent client = proxy.h2cClient();

    List<Future<Exchange>> held = Bursts.send(client, "z.test", "/hold/", 10);
    Await.until(() -> origin.inFlight() == 10, "10 held requests at the origin");
    CountingOrigin.Conn old = origin.connections().get(0);
    assertEquals(1, origin.connections().size());

    watch.mark();
    proxy.writeZone("z.json", capped("z", "z.test", origin.url(), 5));
    watch.awaitInForce();
    int afterSwap = origin.advanceMark();

    Bursts.assertAllOk(Bursts.send(client, "z.test", "/fresh/", 15));

    assertEquals(0, old.startedAfterMark.get(), "no new request reached the old pool's connection");
    assertTrue(old.open, "the old pool's connection stays open while its requests are in flight");
    assertEquals(10, old.active.get());
    List<CountingOrigin.Conn> replacements = origin.connectionsMarked(afterSwap);
    assertFalse(replacements.isEmpty());
    replacements.forEach(c -> assertTrue(c.peak.get() <= 5, "new pool carries at most 5 streams, saw " + c.peak));

    origin.releaseHeld();
    Bursts.assertAllOk(held, "an in-flight request on the old pool finishes");
    Await.until(() -> !old.open, "the old pool's connection to close once its requests are done");
    assertTrue(replacements.stream().allMatch(c -> c.open), "the new pool keeps its connections");
  }
}
