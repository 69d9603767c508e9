package io.muxgate.frontend;

import io.muxgate.admin.AdminApi;
import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.MuxgateProcess;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TcpTable;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SIGTERM's path: readiness turns 503, new connections are refused, in-flight requests still finish. */
class GracefulShutdownTest {

  /** The linger after an error's GOAWAY in the process that stops during one: far past any stop's own time. */
  private static final long LINGER_MS = 120_000;

  @RegisterExtension
  final TestScope scope = new TestScope();
  private TestOrigin origin;
  private ProxyHarness proxy;

  @BeforeEach
  void setUp() {
    origin = scope.startOrigin(TestOrigin.Mode.H2C);
    // Not closed by the scope, as the test shuts this one down itself; only its config folder is deleted.
    proxy = ProxyHarness.start(scope.vertx(), Map.of("z.json", zone("z", "z.test", List.of(origin.url()), null)));
    scope.track(() -> ProxyHarness.deleteTree(proxy.confDir()));
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

  /** HTTP/1.1's GOAWAY: a response that ends during the drain says the connection closes with it. */
  @Test
  void anHttp11ResponseDuringTheDrainSaysTheConnectionCloses() {
    HttpClientAgent client = proxy.h1Client();
    scope.track(() -> client.close().await());
    assertEquals(null, Await.result(Exchange.get(client, "z.test", "/before")).header("connection"),
      "keep-alive before the stop");
    origin.park();
    Future<Exchange> inFlight = Exchange.get(client, "z.test", "/during");
    origin.awaitInFlight(1);

    Future<Void> stopped = proxy.app().shutdown();
    Await.until(() -> readyzStatus() == 503, "readyz to turn 503");
    origin.release();

    assertEquals("close", Await.result(inFlight).header("connection"));
    Await.result(stopped, 10);
  }

  /** The same for the proxy's own answer: an origin failing an in-flight request during the drain. */
  @Test
  void anHttp11ErrorAnswerDuringTheDrainSaysTheConnectionCloses() {
    HttpClientAgent client = proxy.h1Client();
    scope.track(() -> client.close().await());
    origin.handler(request -> request.response().reset(2)).park();   // INTERNAL_ERROR: not replayed
    Future<Exchange> inFlight = Exchange.get(client, "z.test", "/during");
    origin.awaitInFlight(1);

    Future<Void> stopped = proxy.app().shutdown();
    Await.until(() -> readyzStatus() == 503, "readyz to turn 503");
    origin.release();

    Exchange answer = Await.result(inFlight);
    assertEquals(520, answer.status());
    assertEquals("close", answer.header("connection"));
    Await.result(stopped, 10);
  }

  /** A request still running when drain_timeout_s is over is cut, and logged as the drain's doing, not the client's. */
  @Test
  void aRequestCutAtTheDrainTimeoutIsCountedAsSuch() {
    // A Vert.x of its own: one Muxgate per Vert.x (the one of setUp runs on the scope's).
    Vertx own = Vertx.vertx();
    scope.track(() -> own.close().await(10, TimeUnit.SECONDS));
    ProxyHarness quick = ProxyHarness.start(own, Map.of("z.json", zone("z", "z.test", List.of(origin.url()),
      null)), new JsonObject().put("drain_timeout_s", 1));
    origin.park();
    Future<Exchange> cut = Exchange.get(scope.client(ClientKind.H2C, quick), "z.test", "/slow");
    origin.awaitInFlight(1);
    assertEquals(1, quick.app().inFlight());

    Await.result(quick.app().shutdown(), 10);
    Await.until(cut::isComplete, 5_000, "the cut request to end");
    assertTrue(cut.failed(), "the request was cut");

    AdminApi admin = new AdminApi(scope.vertx(), quick.adminPort());
    Await.until(() -> admin.metric("muxgate_requests_total", "code=\"503\",zone=\"z\"") == 1.0, 5_000,
      "the cut request counted as 503 drain_timeout");
    assertEquals(0.0, admin.metric("muxgate_requests_total", "code=\"499\",zone=\"z\""));
    quick.close(); // the parked origin request stays parked: its client is gone
  }

  /**
   * An open WebSocket is in flight for a stop, as nginx and Envoy hold one while they drain: counted in the
   * stop's line, served on while time remains, and cut at drain_timeout_s, logged as the drain's doing,
   * its origin connection closed and no longer counted open.
   */
  @Test
  void anOpenWebSocketIsInFlightUntilTheDrainCutsIt() throws InterruptedException {
    HttpServer echo = Await.result(scope.vertx().createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
      .webSocketHandler(ws -> ws.textMessageHandler(ws::writeTextMessage))
      .listen());
    Vertx own = Vertx.vertx();
    scope.track(() -> own.close().await(10, TimeUnit.SECONDS));
    ProxyHarness quick = ProxyHarness.start(own, Map.of("ws.json", zone("ws", "ws.test",
      List.of("http://127.0.0.1:" + echo.actualPort()), null)), new JsonObject().put("drain_timeout_s", 1));
    scope.track(quick::close);
    WebSocket ws = Await.result(scope.webSocketClient().connect(new WebSocketConnectOptions()
      .setHost("127.0.0.1").setPort(quick.httpPort()).setURI("/chat").putHeader("host", "ws.test")));
    BlockingQueue<String> replies = new LinkedBlockingQueue<>();
    ws.textMessageHandler(replies::add);
    assertEquals(1, quick.app().inFlight(), "the open tunnel is in flight");
    AdminApi admin = new AdminApi(scope.vertx(), quick.adminPort());
    String originConnection = "origin=\"http://127.0.0.1:" + echo.actualPort() + "\",protocol=\"http/1.1\",zone=\"ws\"";
    assertEquals(1.0, admin.metric("muxgate_origin_connections", originConnection));

    Future<Void> stopped = quick.app().shutdown();
    ws.writeTextMessage("during the drain");
    assertEquals("during the drain", replies.poll(5, TimeUnit.SECONDS), "the tunnel serves on while time remains");
    assertFalse(stopped.isComplete(), "the stop waits for the tunnel");

    Await.result(stopped, 10);
    Await.until(() -> quick.lastRecord("/chat") != null, 5_000, "the tunnel's log line");
    assertEquals(101, quick.lastRecord("/chat").status());
    assertEquals("drain_timeout", quick.lastRecord("/chat").error());
    Await.until(() -> admin.metric("muxgate_origin_connections", originConnection) == 0.0, 5_000,
      "the tunnel's origin connection counted closed");
  }

  /**
   * A WebSocket upgrade the origin has not answered when drain_timeout_s runs out is the drain's cut, as
   * any request is (503 drain_timeout), not the origin's failure (520 origin_closed): the origin connection
   * closes because the stop closes it.
   */
  @Test
  void anUpgradeUnansweredAtTheDrainTimeoutIsCutByTheDrain() {
    Promise<Void> taken = Promise.promise();
    NetServer silent = Await.result(scope.vertx().createNetServer().connectHandler(socket -> taken.tryComplete())
      .listen(0, "127.0.0.1"));
    Vertx own = Vertx.vertx();
    scope.track(() -> own.close().await(10, TimeUnit.SECONDS));
    ProxyHarness quick = ProxyHarness.start(own, Map.of("ws.json", zone("ws", "ws.test",
      List.of("http://127.0.0.1:" + silent.actualPort()), null)), new JsonObject().put("drain_timeout_s", 1));
    scope.track(() -> ProxyHarness.deleteTree(quick.confDir()));
    scope.webSocketClient().connect(new WebSocketConnectOptions()
      .setHost("127.0.0.1").setPort(quick.httpPort()).setURI("/chat").putHeader("host", "ws.test"));
    Await.result(taken.future(), 10);

    // The stop as Main runs it: the drain, then Vert.x closed, the upgrade's origin connection with it.
    Await.result(quick.app().shutdown(), 10);
    Await.result(own.close(), 10);

    Await.until(() -> quick.lastRecord("/chat") != null, 5_000, "the upgrade's log line");
    assertEquals(503, quick.lastRecord("/chat").status());
    assertEquals("drain_timeout", quick.lastRecord("/chat").error());
  }

  /**
   * A cleartext connection that sent nothing, or only part of its first request head, has nothing in
   * flight: the stop closes it at once instead of waiting the whole drain_timeout_s for it.
   */
  @Test
  void connectionsWithoutAWholeRequestDoNotHoldTheStop() throws IOException {
    ProxyHarness patient = patientProxy();
    stopClosesASilentAndAPartialConnection(patient, patient.httpPort(),
      "GET /a HTTP/1.1\r\nhost: z.te".getBytes(StandardCharsets.US_ASCII));
  }

  /**
   * Nor does a TLS connection whose handshake is not over (nothing sent yet, half a ClientHello), as nginx
   * and HAProxy close them at a stop: Vert.x shows such a connection to nobody, so it held the stop for the
   * handshake's 10 s bound, or, its handshake ending during the drain, the whole drain_timeout_s.
   */
  @Test
  void tlsConnectionsStillInTheirHandshakeDoNotHoldTheStop() throws IOException {
    ProxyHarness patient = patientProxy();
    // a TLS handshake record's header and the first bytes of its ClientHello
    stopClosesASilentAndAPartialConnection(patient, patient.httpsPort(),
      new byte[] {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01});
  }

  /**
   * Opens a connection that sends nothing and one that sends {@code partialStart}, stops {@code patient}
   * (whose drain would outlast the wait) and checks that the stop closed both without waiting for them.
   */
  private static void stopClosesASilentAndAPartialConnection(ProxyHarness patient, int port, byte[] partialStart)
    throws IOException {
    try (Socket silent = new Socket("127.0.0.1", port); Socket partial = new Socket("127.0.0.1", port)) {
      partial.getOutputStream().write(partialStart);
      Await.until(() -> TcpTable.acceptedAndRead(port, silent.getLocalPort())
        && TcpTable.acceptedAndRead(port, partial.getLocalPort()), "both connections accepted and read");

      long start = System.nanoTime();
      Await.result(patient.app().shutdown(), 15);
      double seconds = (System.nanoTime() - start) / 1e9;

      assertTrue(seconds < 5, "the stop waited for connections without a whole request: " + seconds + " s");
      for (Socket s : List.of(silent, partial)) {
        s.setSoTimeout(5_000);
        assertEquals(-1, s.getInputStream().read(), "closed by the stop");
      }
    }
  }

  /**
   * A client that broke HTTP/2 got GOAWAY(error) and a FIN, and the proxy lingers reading what it still
   * sends: nothing is in flight, so a stop ends that linger rather than waiting it out. In a process of its
   * own with a linger far longer than the stop may take: against the 2 s default, the stop had to be timed
   * under 1.5 s, tight on a loaded machine, while one that waited the linger out took 1.8 s (it began first).
   */
  @Test
  void aConnectionLingeringAfterAnErrorGoAwayDoesNotHoldTheStop() throws Exception {
    MuxgateProcess muxgate = scope.track(MuxgateProcess.start(List.of("-Dmuxgate.error_linger_ms=" + LINGER_MS),
      new JsonObject().put("drain_timeout_s", 2 * LINGER_MS / 1000), Map.of("z.json",
        zone("z", "z.test", List.of(origin.url()), null))));
    try (Socket broken = new Socket("127.0.0.1", muxgate.httpPort())) {
      broken.setSoTimeout(30_000);
      // the preface, an empty SETTINGS, then a WINDOW_UPDATE of 0 on the connection: PROTOCOL_ERROR
      broken.getOutputStream().write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      broken.getOutputStream().write(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 4, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0});
      while (broken.getInputStream().read(new byte[4096]) >= 0) {
        // the proxy's SETTINGS and GOAWAY, up to its FIN; the socket stays open: the proxy lingers
      }

      muxgate.terminate();
      assertTrue(muxgate.process().waitFor(LINGER_MS / 2, TimeUnit.MILLISECONDS),
        "the stop waits out the " + LINGER_MS / 1000 + " s linger; stderr: " + muxgate.stderr);
      assertEquals(0, muxgate.process().exitValue(), "a clean stop; stderr: " + muxgate.stderr);
    }
  }

  /** A proxy of its own (one Muxgate per Vert.x) whose drain_timeout_s, 60, no test waits out. */
  private ProxyHarness patientProxy() {
    Vertx own = Vertx.vertx();
    scope.track(() -> own.close().await(10, TimeUnit.SECONDS));
    ProxyHarness patient = ProxyHarness.start(own, Map.of("z.json", zone("z", "z.test", List.of(origin.url()),
      null)), new JsonObject().put("drain_timeout_s", 60));
    scope.track(() -> ProxyHarness.deleteTree(patient.confDir()));
    return patient;
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
