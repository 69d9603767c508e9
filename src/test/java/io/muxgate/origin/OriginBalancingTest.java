package io.muxgate.origin;

import io.muxgate.admin.AdminApi;
import io.muxgate.support.Await;
import io.muxgate.support.CapturedLog;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.RefusedPort;
import io.muxgate.testing.CannedResponse;
import io.muxgate.testing.FaultActions;
import io.muxgate.testing.FaultOrigin;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Several origins in one zone with passive health: a request that meets a down origin is sent to
 * another one (nothing was sent, so that is safe), the down origin is ejected for a back-off, and is
 * tried again once the back-off is over.
 */
class OriginBalancingTest {

  private Vertx vertx;
  private FaultOrigin up;
  private ProxyHarness proxy;
  /** A field, so the client stays reachable: Vert.x closes a client it finds unreachable. */
  private HttpClientAgent client;
  private HttpServer revived;
  private CapturedLog healthLog;

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    up = FaultOrigin.builder().start();
  }

  @AfterEach
  void tearDown() {
    if (client != null) {
      Await.result(client.close(), 5);
    }
    if (proxy != null) {
      proxy.close();
    }
    if (revived != null) {
      Await.result(revived.close(), 5);
    }
    up.close();
    Await.result(vertx.close(), 10);
    if (healthLog != null) {
      healthLog.close();
    }
  }

  @Test
  void downOriginIsSkippedAfterItsFirstFailureAndRetriedAfterItsBackOff() throws IOException {
    int downPort = RefusedPort.pick();
    healthLog = CapturedLog.infoFrom(OriginHealth.class);
    proxy = ProxyHarness.start(vertx, Map.of("z.json", zone("z", "z.test",
      List.of("h2c://127.0.0.1:" + downPort, "h2c://" + up.authority()), null)));
    client = proxy.h2cClient();
    OriginPool down = poolFor(downPort);

    // Equal loads are broken at random: send until a request has met the down origin.
    for (int i = 0; i < 50 && !down.health().ejected(System.nanoTime()); i++) {
      assertOk(get(client));
    }
    assertTrue(down.health().ejected(System.nanoTime()), "the down origin was tried and ejected");
    long ejectedAt = down.health().lastFailureNanos();
    int servedByUp = up.stats().requestsReceived();

    // The origin comes back at once, but stays out of rotation for its 1 s back-off: a request answered while
    // the health still says ejected was routed while it was, however slowly the machine runs.
    AtomicInteger revivedRequests = new AtomicInteger();
    revived = startOrigin(downPort, revivedRequests);
    int duringBackOff = 0;
    while (true) {
      assertOk(get(client));
      if (!down.health().ejected(System.nanoTime())) {
        break;
      }
      duringBackOff++;
      assertEquals(0, revivedRequests.get(), "no request to an ejected origin");
      assertEquals(servedByUp + duringBackOff, up.stats().requestsReceived());
    }
    assertTrue(duringBackOff > 0, "no request answered within the back-off: nothing tested");

    Await.until(() -> {
      assertOk(get(client));
      return revivedRequests.get() > 0;
    }, 10_000, "the origin to get traffic again after its back-off");
    // A lower bound from the failure that ejected it, read after the answer: a busy machine only lengthens it.
    long backInAfterMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - ejectedAt);
    assertTrue(backInAfterMs >= 1_000, "back in after " + backInAfterMs + " ms");
    assertEquals(0, down.health().consecutiveFailures(), "its first connection cleared the record");
    String origin = "origin h2c://127.0.0.1:" + downPort + " of zone z";
    assertEquals(List.of("WARNING " + origin + " taken out of balancing for 1 s: connection_refused",
      "INFO " + origin + " is back in balancing: it connected or answered"), healthLog.matching("balancing"));
  }

  /**
   * An origin that takes connections but resets every stream is ejected after five failures in a row
   * (it would otherwise get more than its share: failing fast, it always looks least loaded).
   */
  @Test
  void anOriginThatFailsEveryRequestIsEjectedAfterFiveInARow() {
    FaultOrigin failing = FaultOrigin.start(request -> FaultActions.reset(FaultActions.INTERNAL_ERROR));
    try {
      proxy = ProxyHarness.start(vertx, Map.of("z.json", zone("z", "z.test",
        List.of("h2c://" + failing.authority(), "h2c://" + up.authority()), null)));
      client = proxy.h2cClient();

      int failed = 0;
      for (int i = 0; i < 40; i++) {
        if (get(client).status() != 200) {
          failed++;
        }
      }

      assertEquals(OriginHealth.OUTLIER_FAILURES, failed, "failures before the ejection, none during its back-off");
      assertEquals(OriginHealth.OUTLIER_FAILURES, failing.stats().requestsReceived());
    } finally {
      failing.close();
    }
  }

  /**
   * An origin that answers 503 at once is ejected after five in a row too: failing fast, it always has the
   * fewest requests in flight, and least-outstanding balancing would otherwise send it most of the load.
   */
  @Test
  void anOriginThatAnswers503EveryTimeIsEjectedAfterFiveInARow() {
    FaultOrigin failing = FaultOrigin.start(request -> FaultActions.respond(CannedResponse.status(503)));
    try {
      proxy = ProxyHarness.start(vertx, Map.of("z.json", zone("z", "z.test",
        List.of("h2c://" + failing.authority(), "h2c://" + up.authority()), null)));
      client = proxy.h2cClient();

      int answered503 = 0;
      for (int i = 0; i < 40; i++) {
        int status = get(client).status();
        if (status == 503) {
          answered503++;
        } else {
          assertEquals(200, status, "request " + i);
        }
      }

      // Without the count a fair coin decides each request: about 20 of 40.
      assertTrue(answered503 <= OriginHealth.OUTLIER_FAILURES + 1, "503s relayed: " + answered503);
      assertEquals(answered503, failing.stats().requestsReceived());
      String labels = "origin=\"h2c://" + failing.authority() + "\",zone=\"z\"";
      AdminApi admin = new AdminApi(vertx, proxy.adminPort());
      assertTrue(admin.metric("muxgate_origin_ejections_total", labels) >= 1, "the ejection is counted");
      assertEquals(0, admin.metric("muxgate_origin_ejections_total", "origin=\"h2c://" + up.authority()
        + "\",zone=\"z\""), "the healthy origin never was");
    } finally {
      failing.close();
    }
  }

  /**
   * A request that meets two down origins in a row still reaches the third: each zone's first request
   * picks among three origins with no record yet, so without going on past the second it would get 521
   * one time in three.
   */
  @Test
  void aRequestFailsOverPastEveryDownOrigin() throws IOException {
    Map<String, JsonObject> zones = new HashMap<>();
    for (int i = 0; i < 16; i++) {
      int down = RefusedPort.pick();
      int alsoDown = RefusedPort.pick();
      while (alsoDown == down) {
        alsoDown = RefusedPort.pick();
      }
      zones.put("z" + i + ".json", zone("z" + i, "z" + i + ".test", List.of("h2c://127.0.0.1:" + down,
        "h2c://127.0.0.1:" + alsoDown, "h2c://" + up.authority()), null));
    }
    proxy = ProxyHarness.start(vertx, zones);
    client = proxy.h2cClient();

    for (int i = 0; i < 16; i++) {
      assertOk(Await.result(Exchange.get(client, "z" + i + ".test", "/")));
    }
    assertEquals(16, up.stats().requestsReceived());
  }

  @Test
  void withEveryOriginDownRequestsStillReachAnOriginAndGet521() throws IOException {
    Set<Integer> ports = new HashSet<>();
    while (ports.size() < 3) {
      ports.add(RefusedPort.pick());
    }
    proxy = ProxyHarness.start(vertx, Map.of("z.json", zone("z", "z.test",
      ports.stream().map(port -> "h2c://127.0.0.1:" + port).toList(), null)));
    client = proxy.h2cClient();

    for (int i = 0; i < 5; i++) {
      String path = "/" + i;
      Exchange exchange = Await.result(Exchange.get(client, "z.test", path));
      assertEquals(521, exchange.status(), exchange.body());
      assertEquals("connection_refused", exchange.header("muxgate-error"));
      Await.until(() -> proxy.lastRecord(path) != null, "the access record of " + path);
      if (i > 0) {
        // Every origin is out of balancing now: one try, not one connect to each in turn for the same 521.
        assertEquals(1, proxy.lastRecord(path).attempts(), path);
      }
    }
  }

  private OriginPool poolFor(int port) {
    for (OriginPool pool : proxy.app().pools().all()) {
      if (pool.peer().address().port() == port) {
        return pool;
      }
    }
    throw new AssertionError("no pool for port " + port);
  }

  private HttpServer startOrigin(int port, AtomicInteger requests) {
    return Await.result(vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(port)
        .setHttp2ClearTextEnabled(true))
      .requestHandler(request -> {
        requests.incrementAndGet();
        request.response().end("ok");
      })
      .listen(), 5);
  }

  private static Exchange get(HttpClientAgent client) {
    return Await.result(Exchange.get(client, "z.test", "/"));
  }

  private static void assertOk(Exchange exchange) {
    assertEquals(200, exchange.status(), exchange.body() + " " + exchange.header("muxgate-error"));
  }
}
