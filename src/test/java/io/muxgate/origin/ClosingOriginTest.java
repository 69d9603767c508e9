package io.muxgate.origin;

import io.muxgate.admin.AdminApi;
import io.muxgate.support.Await;
import io.muxgate.support.Bursts;
import io.muxgate.support.ClientKind;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestScope;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
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
    ProxyHarness proxy = scope.startProxy("z", "http://127.0.0.1:" + origin.actualPort(), new JsonObject()
      .put("origin_max_http_version", "1").put("origin_max_connections", 4));

    Bursts.assertAllOk(Bursts.send(scope.client(ClientKind.H2C, proxy), "z.test", "/", REQUESTS));

    assertEquals(0.0, new AdminApi(scope.vertx(), proxy.adminPort()).sumForZone("muxgate_origin_replays_total", "z"),
      "requests sent again after landing on a closing connection");
  }
}
