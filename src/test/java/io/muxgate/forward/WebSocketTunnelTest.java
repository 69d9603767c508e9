package io.muxgate.forward;

import io.muxgate.support.Await;
import io.muxgate.support.ProxyHarness;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** WebSocket over HTTP/1.1 Upgrade reaches an origin that speaks it, frames flowing both ways. */
class WebSocketTunnelTest {

  private Vertx vertx;
  private HttpServer origin;
  private ProxyHarness proxy;

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    origin = Await.result(vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
      .webSocketHandler(ws -> ws.textMessageHandler(text -> ws.writeTextMessage("echo " + text + " " + ws.path())))
      .requestHandler(req -> req.response().setStatusCode(404).end("no websocket here"))
      .listen());
    proxy = ProxyHarness.start(vertx, Map.of("ws.json",
      zone("ws", "ws.test", List.of("http://127.0.0.1:" + origin.actualPort()), null)));
  }

  @AfterEach
  void tearDown() {
    proxy.close();
    Await.result(vertx.close(), 10);
  }

  @Test
  void webSocketUpgradeIsTunnelledToTheOrigin() {
    WebSocketClient client = vertx.createWebSocketClient();
    WebSocket ws = Await.result(client.connect(new WebSocketConnectOptions()
      .setHost("127.0.0.1").setPort(proxy.httpPort()).setURI("/chat").putHeader("host", "ws.test")));
    Promise<String> reply = Promise.promise();
    ws.textMessageHandler(reply::tryComplete);

    ws.writeTextMessage("hi");

    assertEquals("echo hi /chat", Await.result(reply.future(), 10));
    Await.result(ws.close(), 10);
  }
}
