package io.muxgate.origin;

import io.muxgate.admin.AdminApi;
import io.muxgate.support.Await;
import io.muxgate.support.Bursts;
import io.muxgate.support.ClientKind;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestScope;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * An HTTP/1.1 origin that closes its connection after every response ({@code Connection: close}, as
 * many application servers do): no request is given a connection the origin is about to close, so
 * none has to be sent again, and every one is answered.
 */
class ClosingOriginTest {

  private static final int REQUESTS = 300;

  @RegisterExtension
  final TestScope scope = new TestScope();

  @Test
  void noRequestLandsOnAConnectionTheOriginClosesAfterItsResponse() {
    HttpServer origin = Await.result(scope.vertx().createHttpServer(new HttpServerOptions().setHost("127.0.0.1")
        .setPort(0))
      .requestHandler(req -> req.response().putHeader("connection", "close").end("ok"))
      .listen());
    assertNoneSentAgain(origin.actualPort());
  }

  /** HTTP/1.0 without keep-alive closes after every response without saying so (Python's http.server). */
  @Test
  void noRequestLandsOnAConnectionOfAnHttp10Origin() {
    NetServer origin = Await.result(scope.vertx().createNetServer()
      .connectHandler(socket -> socket.handler(bytes -> {
        if (bytes.toString().contains("\r\n\r\n")) {
          socket.end(Buffer.buffer("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"));
        }
      }))
      .listen(0, "127.0.0.1"));
    assertNoneSentAgain(origin.actualPort());
  }

  private void assertNoneSentAgain(int originPort) {
    ProxyHarness proxy = scope.startProxy("z", "http://127.0.0.1:" + originPort, new JsonObject()
      .put("origin_max_http_version", "1").put("origin_max_connections", 4));

    Bursts.assertAllOk(Bursts.send(scope.client(ClientKind.H2C, proxy), "z.test", "/", REQUESTS));

    assertEquals(0.0, new AdminApi(scope.vertx(), proxy.adminPort()).sumForZone("muxgate_origin_replays_total", "z"),
      "requests sent again after landing on a closing connection");
  }
}
