package io.muxgate.origin;

import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestScope;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * An HTTP/1.1 origin's response in a transfer coding other than chunked (RFC 9112, section 6.1:
 * {@code Transfer-Encoding: gzip, chunked}, or {@code gzip} alone, ended by the close). The proxy does not
 * decode it, and Transfer-Encoding is hop-by-hop: relayed, the client got gzip bytes with nothing saying so
 * (Content-Encoding is not the same thing: it belongs to the representation, a cache would keep it).
 * It is answered 520 {@code unsupported_transfer_coding}, as a request with one is answered 501.
 */
class ResponseTransferCodingTest {

  @RegisterExtension
  final TestScope scope = new TestScope();
  private ProxyHarness proxy;

  @BeforeEach
  void setUp() {
    NetServer origin = Await.result(scope.vertx().createNetServer()
      .connectHandler(socket -> socket.handler(bytes -> {
        String request = bytes.toString();
        if (request.startsWith("GET /gzip-chunked ")) {
          socket.write(Buffer.buffer("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"));
        } else if (request.startsWith("GET /gzip-close ")) {
          socket.write(Buffer.buffer("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nhello")).onComplete(v -> socket.close());
        } else if (request.startsWith("GET /chunked ")) {
          socket.write(Buffer.buffer("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"));
        } else if (request.contains("\r\n\r\n")) {
          socket.write(Buffer.buffer("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
        }
      }))
      .listen(0, "127.0.0.1"));
    proxy = scope.startProxy("z", "http://127.0.0.1:" + origin.actualPort(),
      new JsonObject().put("origin_max_http_version", "1"));
  }

  @ParameterizedTest(name = "{0}, {1}")
  @CsvSource({"/gzip-chunked, HTTP1", "/gzip-chunked, H2C", "/gzip-close, HTTP1", "/gzip-close, H2C"})
  void aTransferCodingBesideChunkedIsA520NamingIt(String path, ClientKind kind) {
    HttpClientAgent client = scope.client(kind, proxy);

    Exchange exchange = Await.result(Exchange.get(client, "z.test", path));
    assertEquals(520, exchange.status(), exchange.body());
    assertEquals("unsupported_transfer_coding", exchange.header("muxgate-error"));

    Exchange next = Await.result(Exchange.get(client, "z.test", "/next"));
    assertEquals(200, next.status());
    assertEquals("ok", next.body());
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(value = ClientKind.class, names = {"HTTP1", "H2C"})
  void aChunkedResponseInAnyCaseIsRelayed(ClientKind kind) {
    Exchange exchange = Await.result(Exchange.get(scope.client(kind, proxy), "z.test", "/chunked"));
    assertEquals(200, exchange.status());
    assertEquals("hello", exchange.body());
    assertNull(exchange.header("muxgate-error"));
  }
}
