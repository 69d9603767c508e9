package io.muxgate.forward;

import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.RawHttp;
import io.muxgate.support.TestScope;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Responses whose length the origin does not declare. Those that never have a body (204, 304, the answer
 * to HEAD), sent by an HTTP/1.1 origin the way most servers send them, reach every kind of client at once,
 * and the client's connection serves the next request; an HTTP/1.0 client, which has no chunks, gets the
 * body ended by the connection's close.
 */
class ResponseFramingTest {

  @RegisterExtension
  final TestScope scope = new TestScope();
  private ProxyHarness proxy;

  @BeforeEach
  void setUp() {
    NetServer origin = Await.result(scope.vertx().createNetServer()
      .connectHandler(socket -> socket.handler(bytes -> {
        String request = bytes.toString();
        if (!request.contains("\r\n\r\n")) {
          return;
        }
        String answer;
        if (request.startsWith("HEAD ")) {
          answer = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n";
        } else if (request.startsWith("GET /204 ")) {
          answer = "HTTP/1.1 204 No Content\r\nX-Kind: empty\r\n\r\n";
        } else if (request.startsWith("GET /stream ")) {
          // A chunk extension with an unquoted value (RFC 9112, section 7.1.1), which Netty 4.2.12 refused.
          answer = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
        } else if (request.startsWith("GET /304 ")) {
          answer = "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\n\r\n";
        } else {
          answer = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        }
        socket.write(Buffer.buffer(answer));
      }))
      .listen(0, "127.0.0.1"));
    proxy = scope.startProxy("z", "http://127.0.0.1:" + origin.actualPort(),
      new JsonObject().put("origin_max_http_version", "1").put("proxy_read_timeout", 30));
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ClientKind.class)
  void bodilessResponsesArriveAtOnce(ClientKind kind) {
    HttpClientAgent client = scope.client(kind, proxy);

    Exchange noContent = Await.result(Exchange.get(client, "z.test", "/204"));
    assertEquals(204, noContent.status());
    assertEquals("empty", noContent.header("x-kind"));
    assertEquals("", noContent.body());

    Exchange notModified = Await.result(Exchange.get(client, "z.test", "/304"));
    assertEquals(304, notModified.status());
    assertEquals("\"v1\"", notModified.header("etag"));

    Exchange head = Await.result(Exchange.send(client, HttpMethod.HEAD, "z.test", "/", req -> {
    }, null));
    assertEquals(200, head.status());
    assertEquals("5", head.header("content-length"));
    assertEquals("", head.body());

    assertEquals("hello", Await.result(Exchange.get(client, "z.test", "/")).body());
  }

  @ParameterizedTest(name = "keep-alive asked: {0}")
  @ValueSource(booleans = {false, true})
  void anHttp10ClientGetsAnUndeclaredLengthBodyEndedByTheClose(boolean keepAlive) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", proxy.httpPort())) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(("GET /stream HTTP/1.0\r\nHost: z.test\r\n"
        + (keepAlive ? "Connection: keep-alive\r\n" : "") + "\r\n").getBytes(StandardCharsets.US_ASCII));
      String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);

      assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
      assertFalse(answer.toLowerCase(Locale.ROOT).contains("transfer-encoding"), answer);
      // the close ends the body: a client told keep-alive would wait for more (or take the rest as cut)
      assertFalse(answer.toLowerCase(Locale.ROOT).contains("\r\nconnection: keep-alive\r\n"), answer);
      assertTrue(answer.toLowerCase(Locale.ROOT).contains("\r\nconnection: close\r\n"), answer);
      assertTrue(answer.endsWith("\r\n\r\nhello world"), answer);
    }
  }

  /**
   * RFC 9110, section 6.2: a server answers in the highest version it conforms to under the request's major
   * version, and an intermediary sends its own version in what it forwards: HTTP/1.1, as HAProxy, nginx and
   * Apache answer an HTTP/1.0 client. The proxy's own answers too.
   */
  @Test
  void anHttp10ClientIsAnsweredInHttp11() throws IOException {
    String forwarded = RawHttp.exchange(proxy.httpPort(), "GET / HTTP/1.0\r\nHost: z.test\r\n\r\n");
    assertTrue(forwarded.startsWith("HTTP/1.1 200 "), forwarded);
    // without it, an HTTP/1.1 status line tells the client the connection persists (RFC 9112, section 9.3)
    assertTrue(forwarded.toLowerCase(Locale.ROOT).contains("\r\nconnection: close\r\n"), forwarded);
    assertTrue(forwarded.endsWith("\r\n\r\nhello"), forwarded);

    String refused = RawHttp.exchange(proxy.httpPort(), "GET / HTTP/1.0\r\nHost: nobody.test\r\n\r\n");
    assertTrue(refused.startsWith("HTTP/1.1 421 "), refused);
    assertTrue(refused.toLowerCase(Locale.ROOT).contains("\r\nconnection: close\r\n"), refused);
  }

  /** An HTTP/1.0 client that asks for keep-alive keeps its connection when the response's length is known. */
  @Test
  void anHttp10ClientAskingKeepAliveKeepsItForADeclaredLength() throws IOException {
    try (Socket socket = new Socket("127.0.0.1", proxy.httpPort())) {
      socket.setSoTimeout(10_000);
      for (int i = 0; i < 2; i++) {
        socket.getOutputStream().write(("GET / HTTP/1.0\r\nHost: z.test\r\nConnection: keep-alive\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
        String head = RawHttp.readHead(socket.getInputStream());
        String body = new String(socket.getInputStream().readNBytes(5), StandardCharsets.ISO_8859_1);

        assertTrue(head.startsWith("HTTP/1.1 200"), head);
        assertTrue(head.toLowerCase(Locale.ROOT).contains("\r\nconnection: keep-alive\r\n"), head);
        assertEquals("hello", body);
      }
    }
  }
}
