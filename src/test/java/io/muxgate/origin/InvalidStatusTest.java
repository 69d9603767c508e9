package io.muxgate.origin;

import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.RawHttp;
import io.muxgate.support.TestScope;
import io.muxgate.testing.CannedResponse;
import io.muxgate.testing.FaultActions;
import io.muxgate.testing.FaultOrigin;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A response status outside RFC 9110's 100..599, or a 101 nobody asked for, is an invalid response: 520,
 * never relayed (an HTTP/1.1 client would have got "2000 Unknown Status" and then waited forever). An
 * informational status the stack does not know is no final response either.
 */
class InvalidStatusTest {

  @RegisterExtension
  final TestScope scope = new TestScope();

  @ParameterizedTest(name = "HTTP/1.1 origin, status {0}, {1}")
  @CsvSource({"2000, HTTP1", "2000, H2C", "099, HTTP1", "600, HTTP1", "999, H2C", "101, HTTP1", "101, H2C"})
  void anHttp11OriginsStatusOutOfRangeGives520(String status, ClientKind kind) {
    ProxyHarness proxy = proxyToOriginAnswering("HTTP/1.1 " + status + " Odd\r\nContent-Length: 2\r\n\r\nok");

    assertInvalid(Await.result(Exchange.get(scope.client(kind, proxy), "z.test", "/")));
  }

  /** A 1xx Vert.x's client does not know (102 Processing, from WebDAV servers) is dropped, not taken for the answer. */
  @ParameterizedTest(name = "{0}")
  @CsvSource({"HTTP1", "H2C"})
  void anHttp11OriginsProcessingIsDroppedAndItsAnswerRelayed(ClientKind kind) {
    ProxyHarness proxy = proxyToOriginAnswering("HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");

    assertRelayedTwice(scope.client(kind, proxy));
  }

  /**
   * A status line naming a later HTTP/1 minor version ({@code HTTP/1.2 200 OK}) is read as HTTP/1.1 (RFC 9110,
   * section 2.5: a recipient SHOULD process it as the highest minor version it implements), as HAProxy and
   * nginx read it; Vert.x's client failed it (520). Another major version stays an invalid response.
   */
  @ParameterizedTest(name = "{0}, client {1}")
  @CsvSource({"HTTP/1.2, HTTP1", "HTTP/1.2, H2C", "HTTP/1.9, HTTP1", "HTTP/2.0, HTTP1", "HTTP/2.0, H2C"})
  void aLaterHttp1MinorVersionIsReadAsHttp11(String version, ClientKind kind) {
    ProxyHarness proxy = proxyToOriginAnswering(version + " 200 OK\r\nContent-Length: 2\r\n\r\nok");

    if (version.startsWith("HTTP/1.")) {
      assertRelayedTwice(scope.client(kind, proxy));
    } else {
      assertInvalid(Await.result(Exchange.get(scope.client(kind, proxy), "z.test", "/")));
    }
  }

  /** A proxy whose zone {@code z} has an HTTP/1.1 origin that writes {@code answer} for each request head. */
  private ProxyHarness proxyToOriginAnswering(String answer) {
    NetServer origin = Await.result(scope.vertx().createNetServer()
      .connectHandler(socket -> socket.handler(bytes -> {
        if (bytes.toString().contains("\r\n\r\n")) {
          socket.write(Buffer.buffer(answer));
        }
      }))
      .listen(0, "127.0.0.1"));
    return scope.startProxy("z", "http://127.0.0.1:" + origin.actualPort(),
      new JsonObject().put("origin_max_http_version", "1"));
  }

  /** Two requests in turn, each answered 200 "ok". */
  private static void assertRelayedTwice(HttpClientAgent client) {
    for (int i = 0; i < 2; i++) {
      Exchange exchange = Await.result(Exchange.get(client, "z.test", "/"));
      assertEquals(200, exchange.status(), exchange.body());
      assertEquals("ok", exchange.body());
    }
  }

  /**
   * The HTTP/1.1 connection that brought a 101 nobody asked for (and the origin's bytes of another protocol
   * behind it) carries no further request: the one right behind it on the client's connection is answered
   * on a new one, not failed on what the first left there.
   */
  @Test
  void anHttp11ConnectionThatBroughtAnUnaskedSwitchIsNotReused() throws IOException {
    NetServer origin = Await.result(scope.vertx().createNetServer()
      .connectHandler(socket -> socket.handler(bytes -> {
        String request = bytes.toString();
        if (request.startsWith("GET /switch ")) {
          socket.write(Buffer.buffer("HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: upgrade\r\n\r\n"
            + "bytes of foo"));
        } else if (request.contains("\r\n\r\n")) {
          socket.write(Buffer.buffer("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
        }
      }))
      .listen(0, "127.0.0.1"));
    ProxyHarness proxy = scope.startProxy("z", "http://127.0.0.1:" + origin.actualPort(),
      new JsonObject().put("origin_max_http_version", "1"));

    try (Socket socket = new Socket("127.0.0.1", proxy.httpPort())) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write("GET /switch HTTP/1.1\r\nHost: z.test\r\n\r\nGET /after HTTP/1.1\r\nHost: z.test\r\n\r\n"
        .getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      InputStream in = socket.getInputStream();

      String first = RawHttp.readHead(in);
      assertTrue(first.startsWith("HTTP/1.1 520 "), first);
      in.readNBytes("error code: 520".length());
      String second = RawHttp.readHead(in);
      assertTrue(second.startsWith("HTTP/1.1 200 "), second);
      assertEquals("ok", new String(in.readNBytes(2), StandardCharsets.ISO_8859_1));
    }
  }

  @ParameterizedTest(name = "HTTP/2 origin, status {0}, {1}")
  @CsvSource({"600, HTTP1", "999, H2C"})
  void anHttp2OriginsStatusOutOfRangeGives520(int status, ClientKind kind) {
    FaultOrigin origin = scope.track(FaultOrigin.start(request -> FaultActions.respond(CannedResponse.status(status))));
    ProxyHarness proxy = scope.startProxy(Map.of("z.json", zone("z", "z.test", List.of("h2c://" + origin.authority()),
      null)));

    assertInvalid(Await.result(Exchange.get(scope.client(kind, proxy), "z.test", "/")));
  }

  private static void assertInvalid(Exchange exchange) {
    assertEquals(520, exchange.status(), exchange.body());
    assertEquals("invalid_response", exchange.header("muxgate-error"));
  }
}
