package io.muxgate.frontend;

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

import java.util.List;
import java.util.Map;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SIGTERM's path: readiness turns 503, new connections are refused, in-flight requests still finish. */
class GracefulShutdownTest {

  @RegisterExtension
  final TestScope scope = new TestScope();
  private TestOrigin origin;
  private ProxyHarness proxy;

  @BeforeEach
  void setUp() {
    origin = scope.startOrigin(TestOrigin.Mode.H2C);
    // Not tracked: the test shuts this one down itself.
    proxy = ProxyHarness.start(scope.vertx(), Map.of("z.json", zone("z", "z.test", List.of(origin.url()), null)));
  }

  @Test
  void inFlightRequestsFinishWhileTheListenersStopAccepting() {
    HttpClientAgent client = proxy.h2cClient();
    origin.park();
    List<Future<Exchange>> inFlight = List.of(Exchange.get(client, "z.test", "/a"), Exchange.get(client, "z.test", "/b"));
    origin.awaitInFlight(2);
    int httpPort = proxy.httpPort();

    Future<Void> stopped = proxy.app().shutdown();

    Await.until(() -> readyzStatus() == 503, "readyz to turn 503");
    Await.until(() -> !connects(httpPort), "the cleartext listener to stop accepting");
    assertFalse(stopped.isComplete(), "shutdown waits for the in-flight requests");
    origin.release();
    for (Future<Exchange> f : inFlight) {
      assertEquals(200, Await.result(f).status());
    }
    Await.result(stopped, 10);
    assertTrue(origin.connectionsAccepted() >= 1);
  }

  private int readyzStatus() {
    HttpClientAgent admin = scope.vertx().createHttpClient();
    try {
      return Await.result(admin.request(HttpMethod.GET, proxy.adminPort(), "127.0.0.1", "/readyz")
        .compose(req -> req.send()).map(resp -> resp.statusCode()), 5);
    } finally {
      admin.close();
    }
  }

  private static boolean connects(int port) {
    try (java.net.Socket s = new java.net.Socket()) {
      s.connect(new java.net.InetSocketAddress("127.0.0.1", port), 500);
      return true;
    } catch (java.io.IOException e) {
      return false;
    }
  }
}
