package io.muxgate.forward;

import io.muxgate.support.Await;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestScope;
import io.vertx.core.Promise;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** WebSocket over HTTP/1.1 Upgrade reaches an origin that speaks it, frames flowing both ways. */
class WebSocketTunnelTest {

  @RegisterExtension
  final TestScope scope = new TestScope();
  private ProxyHarness proxy;

  @BeforeEach
  void setUp() {
    HttpServerOptions options = new HttpServerOptions().setHost("127.0.0.1").setPort(0);
    HttpServer origin = Await.result(scope.vertx().createHttpServer(options)
      .webSocketHandler(ws -> ws.textMessageHandler(text -> ws.writeTextMessage("echo " + text + " " + ws.path())))
      .requestHandler(req -> req.response().setStatusCode(404).end("no websocket here"))
      .listen());
    proxy = scope.startProxy("ws", "http://127.0.0.1:" + origin.actualPort(), null);
  }

  @Test
  void webSocketUpgradeIsTunnelledToTheOrigin() {
    WebSocketClient client = scope.vertx().createWebSocketClient();
    WebSocket ws = Await.result(client.connect(new WebSocketConnectOptions()
      .setHost("127.0.0.1").setPort(proxy.httpPort()).setURI("/chat").putHeader("host", "ws.test")));
    Promise<String> reply = Promise.promise();
    ws.textMessageHandler(reply::tryComplete);

    ws.writeTextMessage("hi");

    assertEquals("echo hi /chat", Await.result(reply.future(), 10));
    Await.result(ws.close(), 10);
  }
}
