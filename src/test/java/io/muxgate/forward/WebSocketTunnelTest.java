package io.muxgate.forward;

import io.muxgate.admin.AdminApi;
import io.muxgate.observe.ExchangeRecord;
import io.muxgate.support.Await;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.RefusedPort;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.muxgate.testing.FaultOrigin;
import io.vertx.core.Promise;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** WebSocket over HTTP/1.1 Upgrade reaches an origin that speaks it, frames flowing both ways. */
class WebSocketTunnelTest {

  @RegisterExtension
  final TestScope scope = new TestScope();
  private ProxyHarness proxy;
  private int originPort;
  private int plainOriginPort;
  private String refusingOrigin;
  /** The proxy's local port of each WebSocket connection the origin took. */
  private final BlockingQueue<Integer> tunnelPorts = new LinkedBlockingQueue<>();

  @BeforeEach
  void setUp() throws IOException {
    HttpServerOptions options = new HttpServerOptions().setHost("127.0.0.1").setPort(0);
    HttpServer origin = Await.result(scope.vertx().createHttpServer(options)
      .webSocketHandler(ws -> {
        tunnelPorts.add(ws.remoteAddress().port());
        ws.textMessageHandler(text -> ws.writeTextMessage("echo " + text + " " + ws.path()));
      })
      .requestHandler(req -> req.response().setStatusCode(404).end("no websocket here"))
      .listen());
    originPort = origin.actualPort();
    HttpServer plain = Await.result(scope.vertx().createHttpServer(new HttpServerOptions().setHost("127.0.0.1")
        .setPort(0).setPerMessageWebSocketCompressionSupported(false).setPerFrameWebSocketCompressionSupported(false))
      .webSocketHandler(ws -> { })
      .listen());
    plainOriginPort = plain.actualPort();
    NetServer silent = Await.result(scope.vertx().createNetServer().connectHandler(socket -> { })
      .listen(0, "127.0.0.1"));
    FaultOrigin http2Only = FaultOrigin.builder().start();
    scope.track(http2Only::close);
    TestOrigin noWebSockets = scope.startOrigin(TestOrigin.Mode.H1)
      .handler(req -> req.response().setStatusCode(404).end("no websocket here"));
    refusingOrigin = "http://127.0.0.1:" + RefusedPort.pick();
    proxy = scope.startProxy(Map.of(
      "failover.json", ProxyHarness.zone("failover", "failover.test",
        List.of(refusingOrigin, "http://127.0.0.1:" + originPort), null),
      "h2only.json", ProxyHarness.zone("h2only", "h2only.test", List.of("h2c://" + http2Only.authority()), null),
      "nows.json", ProxyHarness.zone("nows", "nows.test", List.of(noWebSockets.url()),
        new JsonObject().put("origin_max_http_version", "1").put("origin_max_connections", 1)),
      "silent.json", ProxyHarness.zone("silent", "silent.test", List.of("http://127.0.0.1:" + silent.actualPort()),
        new JsonObject().put("origin_max_http_version", "1").put("proxy_read_timeout", 1)),
      "ws.json", ProxyHarness.zone("ws", "ws.test", List.of("http://127.0.0.1:" + originPort), null),
      "quick.json", ProxyHarness.zone("quick", "quick.test", List.of("http://127.0.0.1:" + originPort),
        new JsonObject().put("proxy_read_timeout", 1)),
      "plain.json", ProxyHarness.zone("plain", "plain.test", List.of("http://127.0.0.1:" + plainOriginPort), null)));
  }

  @Test
  void webSocketUpgradeIsTunnelledToTheOrigin() {
    WebSocketClient client = scope.webSocketClient();
    WebSocket ws = Await.result(client.connect(new WebSocketConnectOptions()
      .setHost("127.0.0.1").setPort(proxy.httpPort()).setURI("/chat").putHeader("host", "ws.test")));
    Promise<String> reply = Promise.promise();
    ws.textMessageHandler(reply::tryComplete);

    ws.writeTextMessage("hi");

    assertEquals("echo hi /chat", Await.result(reply.future(), 10));
    assertNull(proxy.lastRecord("/chat"), "logged while open");
    Await.result(ws.close(), 10);

    // Logged at its close, as nginx and HAProxy do, with the bytes that went through: a masked 2-byte text
    // frame (8 bytes) and a close frame up; "echo hi /chat" (15 bytes) and a close frame down.
    Await.until(() -> proxy.lastRecord("/chat") != null, "the tunnel's log line");
    ExchangeRecord record = proxy.lastRecord("/chat");
    assertEquals(101, record.status());
    assertTrue(record.bytesIn() >= 8 + 6, "bytes in: " + record.bytesIn());
    assertTrue(record.bytesOut() >= 15 + 2, "bytes out: " + record.bytesOut());
    // Its client connection, which became the tunnel, is gone from the proxy's books with it.
    Await.until(() -> proxy.app().clientConnections() == 0, "the tunnel's client connection to be let go");
  }

  /**
   * A tunnel's origin connection is an origin connection like a pool's: counted open while the tunnel lives
   * (an operator compares the gauge with the sockets the process holds), opened once, and named in the log
   * line by its local port.
   */
  @Test
  void anOpenTunnelIsCountedAsAnOriginConnectionAndLoggedWithItsPort() throws InterruptedException {
    AdminApi admin = new AdminApi(scope.vertx(), proxy.adminPort());
    WebSocket ws = connect("ws.test");
    Promise<String> reply = Promise.promise();
    ws.textMessageHandler(reply::tryComplete);
    ws.writeTextMessage("hi");
    assertEquals("echo hi /chat", Await.result(reply.future(), 10));
    long openedMillis = System.currentTimeMillis();
    Integer port = tunnelPorts.poll(10, TimeUnit.SECONDS);

    assertEquals(1.0, admin.sumForZone("muxgate_origin_connections", "ws"), "open now");
    assertEquals(1.0, admin.sumForZone("muxgate_origin_connections_opened_total", "ws"), "opened");
    Await.result(ws.close(), 10);

    Await.until(() -> admin.sumForZone("muxgate_origin_connections", "ws") == 0.0, "the tunnel's connection closed");
    Await.until(() -> proxy.lastRecord("/chat") != null, "the tunnel's log line");
    assertEquals(port, proxy.lastRecord("/chat").originLocalPort(), "the connection that carried it");
    assertTrue(proxy.lastRecord("/chat").startMillis() <= openedMillis,
      "the line's time is when the upgrade arrived, as every other line's, not when the tunnel closed");
    assertEquals(1.0, admin.sumForZone("muxgate_origin_connections_opened_total", "ws"));
  }

  /**
   * A tunnel outlives its zone's removal; once the zone is back its series start again from 0, and the old
   * tunnel's close must not be taken off them: the gauge would drift below the sockets open, even below 0.
   */
  @Test
  void aTunnelThatOutlivesItsZonesSeriesIsNotTakenOffTheirSuccessor() throws IOException {
    AdminApi admin = new AdminApi(scope.vertx(), proxy.adminPort());
    WebSocket old = connect("ws.test");
    Promise<Void> oldClosed = Promise.promise();
    old.closeHandler(oldClosed::tryComplete);
    Files.delete(proxy.tenantsDir().resolve("ws.json"));
    Await.until(() -> admin.sumForZone("muxgate_origin_connections_opened_total", "ws") == 0.0, 10_000,
      "the zone's series to leave /metrics");
    proxy.writeZone("ws.json", ProxyHarness.zone("ws", "ws.test", List.of("http://127.0.0.1:" + originPort), null));
    WebSocketConnectOptions upgrade = new WebSocketConnectOptions()
      .setHost("127.0.0.1").setPort(proxy.httpPort()).setURI("/chat").putHeader("host", "ws.test");
    WebSocketClient again = scope.webSocketClient();
    Await.until(() -> again.connect(upgrade)
      .toCompletionStage().toCompletableFuture().handle((ws, e) -> ws != null).join(), 10_000, "the zone back");
    assertEquals(1.0, admin.sumForZone("muxgate_origin_connections", "ws"), "the new tunnel");

    Await.result(old.close(), 10);
    Await.result(oldClosed.future(), 10);
    Await.until(() -> proxy.records().stream().anyMatch(r -> r.status() == 101), "the old tunnel's log line");

    assertEquals(1.0, admin.sumForZone("muxgate_origin_connections", "ws"), "the new tunnel, still open");
  }

  /** A tunnel quiet both ways for proxy_read_timeout is closed: its client may have vanished without a word. */
  @Test
  void aQuietTunnelIsClosedAfterTheReadTimeout() {
    WebSocket ws = connect("quick.test");
    Promise<String> reply = Promise.promise();
    Promise<Long> closedAfter = Promise.promise();
    ws.textMessageHandler(reply::tryComplete);
    // Before the last bytes through the tunnel, so a busy machine can only lengthen the quiet measured.
    long quietSince = System.nanoTime();
    ws.closeHandler(v -> closedAfter.complete(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - quietSince)));
    ws.writeTextMessage("hi");
    assertEquals("echo hi /chat", Await.result(reply.future(), 10));

    long quietMs = Await.result(closedAfter.future(), 10);
    assertTrue(quietMs >= 1_000, "closed after " + quietMs + " ms of quiet, under the 1 s read timeout");
  }

  /** Bytes either way keep a tunnel open past the read timeout, however long it lives. */
  @Test
  void aTunnelInUseOutlivesTheReadTimeout() throws InterruptedException {
    WebSocket ws = connect("quick.test");
    BlockingQueue<String> replies = new LinkedBlockingQueue<>();
    ws.textMessageHandler(replies::add);
    boolean[] closed = {false};
    ws.closeHandler(v -> closed[0] = true);

    for (int i = 0; i < 8; i++) { // 2.4 s in all, a message every 0.3 s
      ws.writeTextMessage("m" + i);
      assertEquals("echo m" + i + " /chat", replies.poll(10, TimeUnit.SECONDS));
      Thread.sleep(300);
    }

    assertFalse(closed[0], "closed while in use");
    Await.result(ws.close(), 10);
  }

  private WebSocket connect(String host) {
    return Await.result(scope.webSocketClient().connect(new WebSocketConnectOptions()
      .setHost("127.0.0.1").setPort(proxy.httpPort()).setURI("/chat").putHeader("host", host)));
  }

  /**
   * Extensions are the origin's to accept: an origin without compression answers without
   * Sec-WebSocket-Extensions, and the client must see that answer, not one the proxy negotiated for itself
   * (the client would then send compressed frames the origin cannot read).
   */
  @Test
  void theClientSeesNoExtensionTheOriginDeclined() throws IOException {
    String direct = upgradeResponse(plainOriginPort, "plain.test");
    assertTrue(direct.startsWith("http/1.1 101"), direct);
    assertFalse(direct.contains("sec-websocket-extensions"), "the origin takes no extension: " + direct);

    String proxied = upgradeResponse(proxy.httpPort(), "plain.test");

    assertTrue(proxied.startsWith("http/1.1 101"), proxied);
    assertFalse(proxied.contains("sec-websocket-extensions"), proxied);
  }

  /** An origin that accepts the offer: its answer reaches the client once, as it was. */
  @Test
  void theClientSeesTheOriginsExtensionsOnce() throws IOException {
    String direct = upgradeResponse(originPort, "ws.test");
    String accepted = headerLine(direct, "sec-websocket-extensions");
    assertTrue(accepted.startsWith("sec-websocket-extensions: permessage-deflate"), direct);

    String proxied = upgradeResponse(proxy.httpPort(), "ws.test");

    assertTrue(proxied.startsWith("http/1.1 101"), proxied);
    assertEquals(accepted, headerLine(proxied, "sec-websocket-extensions"), proxied);
    assertEquals("via: 1.1 muxgate", headerLine(proxied, "via"), "a 101 names the proxy like any response");
  }

  /** An upgrade the origin answers without a 101 gets that answer, and the log counts its body as sent. */
  @Test
  void anUpgradeAnsweredWithoutA101IsLoggedWithTheBodySent() throws IOException {
    String proxied = upgradeResponse(proxy.httpPort(), "nows.test");

    assertTrue(proxied.startsWith("http/1.1 404"), proxied);
    Await.until(() -> proxy.lastRecord("/chat") != null, "the upgrade's log line");
    ExchangeRecord record = proxy.lastRecord("/chat");
    assertEquals("upgrade_failed", record.error());
    assertEquals("no websocket here".length(), record.bytesOut(), "the origin's body went out");
  }

  /**
   * An origin that refuses an upgrade on a connection it keeps open gives it back: the connection is closed
   * with the refusal, as when the origin is given by name. Kept, it stayed taken in the upgrade pool, and
   * once origin_max_connections refusals had filled it every later WebSocket to the origin hung.
   */
  @Test
  void upgradesRefusedOnKeptOpenConnectionsDoNotFillTheOriginsConnections() throws IOException {
    for (int i = 0; i < 3; i++) {
      String proxied = upgradeResponse(proxy.httpPort(), "nows.test");

      assertTrue(proxied.startsWith("http/1.1 404"), "refusal " + i + ": " + proxied);
    }
  }

  /**
   * A WebSocket to several origins fails over as a request does: an origin that refuses the connection
   * (nothing was sent) is taken out of balancing and the upgrade goes to another. Upgrades once got the
   * 521 while another origin was up, and the refusing one stayed in balancing, drawing every other upgrade.
   */
  @Test
  void anUpgradeMeetingARefusingOriginGoesToAnother() throws IOException {
    for (int i = 0; i < 10; i++) {
      String proxied = upgradeResponse(proxy.httpPort(), "failover.test");

      assertTrue(proxied.startsWith("http/1.1 101"), "upgrade " + i + ": " + proxied);
    }
    Await.until(() -> proxy.records().stream().anyMatch(r -> r.originsTried() != null), "a failover's log line");
    ExchangeRecord failedOver = proxy.records().stream().filter(r -> r.originsTried() != null).findFirst().get();
    assertEquals(List.of(refusingOrigin), failedOver.originsTried().stream().map(String::valueOf).toList());
    assertEquals(2, failedOver.attempts());
    double ejections = new AdminApi(scope.vertx(), proxy.adminPort()).metric("muxgate_origin_ejections_total",
      "origin=\"" + refusingOrigin + "\",zone=\"failover\"");
    assertTrue(ejections >= 1.0, "ejections: " + ejections);
    // Counted as a request's failover is, with the failure's reason.
    Await.until(() -> proxy.records().stream().filter(r -> "failover".equals(r.zone())).count() == 10, "every log line");
    long failovers = proxy.records().stream().filter(r -> r.originsTried() != null)
      .mapToLong(r -> r.originsTried().size()).sum();
    assertEquals((double) failovers, new AdminApi(scope.vertx(), proxy.adminPort())
      .metric("muxgate_origin_replays_total", "reason=\"connection_refused\",zone=\"failover\""));
  }

  /** An origin that takes the connection and never answers the upgrade: 524 after proxy_read_timeout. */
  @Test
  void anUnansweredUpgradeGets524() throws IOException {
    String proxied = upgradeResponse(proxy.httpPort(), "silent.test");

    assertTrue(proxied.startsWith("http/1.1 524"), proxied);
    assertEquals("muxgate-error: read_timeout", headerLine(proxied, "muxgate-error"));
    Await.until(() -> proxy.lastRecord("/chat") != null, "the refusal's log line");
    assertEquals("error code: 524".length(), proxy.lastRecord("/chat").bytesOut(), "the error body went out");
    assertEquals(1.0, new AdminApi(scope.vertx(), proxy.adminPort())
      .metric("muxgate_origin_errors_total", "code=\"524\",zone=\"silent\""));
  }

  /**
   * An {@code h2c://} origin that speaks only HTTP/2 (it answers the HTTP/1.1 Upgrade with its SETTINGS and
   * a close) gets 502 {@code websocket_unsupported}, as HAProxy answers when the server side cannot
   * upgrade: a WebSocket it cannot carry, not an origin failing, so no 520 is counted against it.
   */
  @Test
  void anUpgradeToAnOriginThatSpeaksOnlyHttp2Gets502() throws IOException {
    String proxied = upgradeResponse(proxy.httpPort(), "h2only.test");

    assertTrue(proxied.startsWith("http/1.1 502"), proxied);
    assertEquals("muxgate-error: websocket_unsupported", headerLine(proxied, "muxgate-error"));
    assertEquals(0.0, new AdminApi(scope.vertx(), proxy.adminPort())
      .metric("muxgate_origin_errors_total", "code=\"520\",zone=\"h2only\""));
  }

  private static String headerLine(String head, String name) {
    return head.lines().filter(line -> line.startsWith(name + ":")).reduce((a, b) -> a + " | " + b).orElse("");
  }

  /** The head of the answer to an upgrade offering permessage-deflate, lower-cased. */
  private static String upgradeResponse(int port, String host) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(("GET /chat HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        + "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = socket.getInputStream();
      StringBuilder head = new StringBuilder();
      while (head.indexOf("\r\n\r\n") < 0) {
        int b = in.read();
        if (b < 0) {
          break;
        }
        head.append((char) b);
      }
      return head.toString().toLowerCase(Locale.ROOT);
    }
  }
}
