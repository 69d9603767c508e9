package io.muxgate.forward;

import io.muxgate.support.ProxyHarness;
import io.muxgate.support.RawHttp;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A request target with bytes outside ASCII, as some clients send a UTF-8 path unencoded (nginx passes it on
 * as it is; HAProxy refuses it), reaches the origin as those bytes, not transcoded. The proxy reads them one
 * byte to a char; Vert.x's HTTP/1.1 client writes the target as UTF-8, which turned {@code é} (C3 A9) into
 * C3 83 C2 A9 at an HTTP/1.1 origin while an HTTP/2 origin got C3 A9. Strings here hold one byte per char,
 * as the origin reads them too.
 */
class RawTargetBytesTest {

  @RegisterExtension
  final TestScope scope = new TestScope();

  @ParameterizedTest
  @EnumSource(value = TestOrigin.Mode.class, names = {"H1", "H2C"})
  void aUtf8TargetReachesTheOriginAsItsBytes(TestOrigin.Mode mode) throws IOException {
    String target = "/caf\u00c3\u00a9/x?q=\u00c3\u00a9";

    assertEquals(target, forwarded(mode, target));
  }

  /** Bytes that are no UTF-8 cannot go out as they are through Vert.x's client: they go percent-encoded. */
  @Test
  void aTargetThatIsNoUtf8ReachesAnHttp11OriginPercentEncoded() throws IOException {
    assertEquals("/caf%E9?q=%E9", forwarded(TestOrigin.Mode.H1, "/caf\u00e9?q=\u00e9"));
  }

  /** A WebSocket upgrade goes to its origin through Vert.x's HTTP/1.1 client too. */
  @Test
  void aWebSocketUpgradesUtf8TargetReachesTheOriginAsItsBytes() throws IOException {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H1);
    origin.handler(req -> req.response().setStatusCode(404).end("no websocket here"));
    ProxyHarness proxy = scope.startProxy("z", origin.url(), new JsonObject().put("origin_max_http_version", "1"));
    String target = "/caf\u00c3\u00a9";

    String answer = RawHttp.exchange(proxy.httpPort(), "GET " + target + " HTTP/1.1\r\nHost: z.test\r\n"
      + "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      + "Sec-WebSocket-Version: 13\r\n\r\n");

    assertTrue(answer.startsWith("HTTP/1.1 404 "), answer);
    assertEquals(target, origin.received().get(0).uri());
  }

  /** The target the origin received for {@code target}, sent one byte per char. */
  private String forwarded(TestOrigin.Mode mode, String target) throws IOException {
    TestOrigin origin = scope.startOrigin(mode);
    origin.handler(req -> req.response().end("ok"));
    ProxyHarness proxy = scope.startProxy("z", origin.url(),
      mode == TestOrigin.Mode.H1 ? new JsonObject().put("origin_max_http_version", "1") : null);

    String answer = RawHttp.exchange(proxy.httpPort(), "GET " + target + " HTTP/1.1\r\nHost: z.test\r\nConnection: close\r\n\r\n");

    assertTrue(answer.startsWith("HTTP/1.1 200 "), answer);
    return origin.received().get(0).uri();
  }
}
