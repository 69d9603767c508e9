package io.muxgate.forward;

import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestScope;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * A response header an HTTP/1.1 origin folds over two lines (obs-fold, RFC 9112, section 5.2) reaches the
 * client as one line, the fold replaced by a space, as a proxy may forward it: never with the line break
 * inside, which an HTTP/1.1 client would read as a header of its own (response splitting).
 */
class ObsFoldResponseTest {

  @RegisterExtension
  final TestScope scope = new TestScope();

  @ParameterizedTest(name = "{0}")
  @EnumSource(value = ClientKind.class, names = {"HTTP1", "H2C"})
  void aFoldedHeaderArrivesUnfoldedOnOneLine(ClientKind kind) {
    NetServer origin = Await.result(scope.vertx().createNetServer()
      .connectHandler(socket -> socket.handler(bytes -> {
        if (bytes.toString().contains("\r\n\r\n")) {
          socket.write(Buffer.buffer("HTTP/1.1 200 OK\r\nX-Folded: first\r\n\tSet-Cookie: evil=1\r\n"
            + "Content-Length: 2\r\n\r\nok"));
        }
      }))
      .listen(0, "127.0.0.1"));
    ProxyHarness proxy = scope.startProxy("z", "http://127.0.0.1:" + origin.actualPort(),
      new JsonObject().put("origin_max_http_version", "1"));

    Exchange exchange = Await.result(Exchange.get(scope.client(kind, proxy), "z.test", "/"));
    assertEquals(200, exchange.status(), exchange.body());
    assertEquals("first Set-Cookie: evil=1", exchange.header("x-folded"));
    assertNull(exchange.header("set-cookie"));
    assertEquals("ok", exchange.body());
  }
}
