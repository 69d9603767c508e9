package io.muxgate.origin;

import io.muxgate.support.Await;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestScope;
import io.vertx.core.Promise;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.http.impl.CleanableHttpClient;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.lang.ref.WeakReference;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * WebSocket upgrades to a peer go through an HTTP client of their own, outside the peer's pool. A reload
 * that drops the peer must let that client go, as it does the pool's, but only once the tunnels it opened
 * are over: closing it sooner would cut them.
 */
class RetiredUpgradeClientTest {

  @RegisterExtension
  final TestScope scope = new TestScope();

  @Test
  void aDroppedPeersUpgradeClientOutlivesItsTunnelAndNoLonger() throws InterruptedException {
    int first = echoOrigin();
    int second = echoOrigin();
    // A tunnel's quiet check holds it for proxy_read_timeout after its close: 3 s, past the grace below.
    JsonObject settings = new JsonObject().put("proxy_read_timeout", 3);
    ProxyHarness proxy = scope.startProxy(Map.of("ws.json",
      zone("ws", "ws.test", List.of("http://127.0.0.1:" + first), settings)));
    BlockingQueue<String> replies = new LinkedBlockingQueue<>();
    WebSocket tunnel = Await.result(scope.webSocketClient().connect(new WebSocketConnectOptions()
      .setHost("127.0.0.1").setPort(proxy.httpPort()).setURI("/chat").putHeader("host", "ws.test")));
    tunnel.textMessageHandler(replies::add);
    tunnel.writeTextMessage("before");
    assertEquals("echo before", replies.poll(10, TimeUnit.SECONDS));
    OriginPools pools = proxy.app().pools();
    assertEquals(1, pools.upgradesForTest().size());
    WeakReference<Object> retired = new WeakReference<>(
      ((CleanableHttpClient) pools.upgradesForTest().iterator().next().clientForTest()).delegate);

    proxy.writeZone("ws.json", zone("ws", "ws.test", List.of("http://127.0.0.1:" + second), settings));
    Await.until(() -> pools.upgradesForTest().isEmpty(), 10_000, "the reload to drop the first origin");
    // Past the retired connector's grace: with its tunnel open it must keep its client.
    Promise<Void> graceOver = Promise.promise();
    scope.vertx().setTimer(2 * UpgradeConnector.RETIRE_GRACE_MS, id -> graceOver.complete());
    Await.result(graceOver.future(), 10);
    tunnel.writeTextMessage("after");
    assertEquals("echo after", replies.poll(10, TimeUnit.SECONDS), "the tunnel through the retired client");

    Await.result(tunnel.close(), 10);
    Await.until(() -> {
      System.gc();
      return retired.get() == null;
    }, 10_000, "the retired upgrade client to be collected once its tunnel closed");
  }

  private int echoOrigin() {
    HttpServer origin = Await.result(scope.vertx().createHttpServer(new HttpServerOptions().setHost("127.0.0.1")
        .setPort(0))
      .webSocketHandler(ws -> ws.textMessageHandler(text -> ws.writeTextMessage("echo " + text)))
      .listen());
    return origin.actualPort();
  }
}
