package io.muxgate.forward;

import io.muxgate.support.FrameClient;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.RawHttp;
import io.muxgate.support.TestScope;
import io.muxgate.testing.CannedResponse;
import io.muxgate.testing.FaultActions;
import io.muxgate.testing.FaultOrigin;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An HTTP/2 origin that sends DATA on a response that has no content (the answer to HEAD, a 204, a 304;
 * RFC 9110, section 6.4.1): the client gets the head and the end, not the bytes. Relayed, they followed a
 * HEAD's head on an HTTP/1.1 connection and were read as the start of the next response; an HTTP/2 client
 * reset the stream (PROTOCOL_ERROR) without ever showing the status.
 */
class BodilessResponseDataTest {

  @RegisterExtension
  final TestScope scope = new TestScope();
  private ProxyHarness proxy;

  @BeforeEach
  void setUp() {
    FaultOrigin origin = scope.track(FaultOrigin.start(request -> {
      if (request.path().equals("/split")) {
        // No length declared, the bytes in a DATA frame of their own and the end in another.
        return exchange -> exchange.whenRequestComplete(() -> {
          exchange.sendHeaders(200, false);
          exchange.sendData("hello".getBytes(StandardCharsets.US_ASCII), false);
          exchange.sendData(new byte[0], true);
        });
      }
      if (request.path().equals("/next")) {
        return FaultActions.respond(CannedResponse.ok("next").withHeader("content-length", "4"));
      }
      int status = request.path().equals("/204") ? 204 : request.path().equals("/304") ? 304 : 200;
      return FaultActions.respond(CannedResponse.of(status, "hello").withHeader("content-length", "5"));
    }));
    proxy = scope.startProxy("z", "h2c://" + origin.authority(), null);
  }

  @ParameterizedTest(name = "HEAD {0}")
  @ValueSource(strings = {"/", "/split"})
  void anHttp11ClientsNextResponseFollowsTheHeadOfAHead(String path) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", proxy.httpPort())) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(("HEAD " + path + " HTTP/1.1\r\nHost: z.test\r\n\r\nGET /next HTTP/1.1\r\nHost: z.test\r\n\r\n")
        .getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      InputStream in = socket.getInputStream();

      String head = RawHttp.readHead(in);
      assertTrue(head.startsWith("HTTP/1.1 200 "), head);
      String next = RawHttp.readHead(in);
      assertTrue(next.startsWith("HTTP/1.1 200 "), "the next response right after the HEAD's head: " + next);
      assertEquals("next", new String(in.readNBytes(4), StandardCharsets.ISO_8859_1));
    }
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({"HEAD, /, 200", "GET, /204, 204", "GET, /304, 304"})
  void anHttp2ClientGetsTheHeadAndNoData(String method, String path, String status) throws Exception {
    FrameClient client = FrameClient.connect(scope, scope.nettyGroup(), proxy.httpPort(), false);

    client.open(new DefaultHttp2Headers().method(method).scheme("http").authority("z.test").path(path), true);

    Http2Headers head = client.head();
    assertEquals(status, head.status().toString());
    assertEquals("", client.body());
  }
}
