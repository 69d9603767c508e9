package io.muxgate.origin;

import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestScope;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * An HTTP/1.1 origin's response that repeats its Content-Length with one value is read as having that
 * length (RFC 9110, section 8.6; HAProxy does, and an HTTP/2 origin's such response already was), and
 * relayed with one Content-Length; values that differ are still an invalid response.
 */
class RepeatedContentLengthTest {

  @RegisterExtension
  final TestScope scope = new TestScope();

  @Test
  void identicalContentLengthsAreReadAsOneAndDifferentOnesAreRefused() {
    Map<String, String> heads = Map.of(
      "/comma", "content-length: 5, 5\r\n",
      "/lines", "content-length: 5\r\ncontent-length: 5\r\n",
      "/differ", "content-length: 5, 6\r\n");
    NetServer origin = Await.result(scope.vertx().createNetServer()
      .connectHandler(socket -> socket.handler(request -> {
        String line = request.toString(StandardCharsets.ISO_8859_1);
        String path = line.substring(line.indexOf(' ') + 1, line.indexOf(' ', line.indexOf(' ') + 1));
        socket.write("HTTP/1.1 200 OK\r\n" + heads.get(path) + "\r\nhello");
      }))
      .listen(0, "127.0.0.1"));
    ProxyHarness proxy = scope.startProxy(Map.of("z.json", ProxyHarness.zone("z", "z.test",
      List.of("http://127.0.0.1:" + origin.actualPort()), new JsonObject().put("origin_max_http_version", "1"))));
    HttpClientAgent client = scope.client(ClientKind.HTTP1, proxy);

    for (String path : List.of("/comma", "/lines")) {
      Exchange answer = Await.result(Exchange.get(client, "z.test", path));
      assertEquals(200, answer.status(), path + ": " + answer.body());
      assertEquals("hello", answer.body(), path);
      assertEquals("5", answer.header("content-length"), path);
    }
    Exchange differ = Await.result(Exchange.get(client, "z.test", "/differ"));
    assertEquals(520, differ.status());
    assertEquals("invalid_response", differ.header("muxgate-error"));
  }
}
