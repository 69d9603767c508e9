package io.muxgate.forward;

import io.muxgate.support.Await;
import io.muxgate.support.FrameClient;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.RefusedPort;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2Headers;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Map;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The proxy's own answer to a HEAD over HTTP/2 is a head alone, ended by its HEADERS frame: DATA on the answer
 * to a HEAD is a protocol error to curl, nghttp and h2load, which reset the stream and show no status at all.
 * Its Content-Length is the one a GET would get. Both when the proxy refuses the request itself (421) and when
 * the origin failed (521).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HeadErrorAnswerTest {

  @RegisterExtension
  final TestScope scope = new TestScope();
  private ProxyHarness proxy;

  @BeforeAll
  void start() throws Exception {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C);
    proxy = scope.startProxy(Map.of(
      "up.json", zone("up", "up.test", List.of(origin.url()), null),
      "down.json", zone("down", "down.test", List.of("h2c://127.0.0.1:" + RefusedPort.pick()), null)));
  }

  @ParameterizedTest(name = "{0} {1} tls {2}")
  @CsvSource({
    "nobody.test, 421, unknown_zone, false", "nobody.test, 421, unknown_zone, true",
    "down.test, 521, connection_refused, false", "down.test, 521, connection_refused, true"})
  void anErrorAnswerToHeadIsAHeadWithoutData(String host, int status, String reason, boolean tls) throws Exception {
    FrameClient client = FrameClient.connect(scope, scope.nettyGroup(), tls ? proxy.httpsPort() : proxy.httpPort(),
      tls);

    String path = "/head-" + status + (tls ? "-tls" : "");
    Http2FrameStream head = client.open(request("HEAD", tls, host, path), true);

    Http2Headers answer = client.head();
    assertEquals(Integer.toString(status), answer.status().toString());
    assertEquals(reason, answer.get("muxgate-error").toString());
    assertTrue(client.awaitEnd());
    assertEquals(List.of("HEADERS end"), client.framesOf(head));
    assertEquals(Integer.toString(ErrorAnswer.BODY_BYTES), String.valueOf(answer.get("content-length")));
    Await.until(() -> proxy.lastRecord(path) != null, "the access record");
    assertEquals(0, proxy.lastRecord(path).bytesOut());

    // The connection serves on: the same request as a GET gets the whole answer.
    client.open(request("GET", tls, host, "/get"), true);
    assertEquals(Integer.toString(status), client.head().status().toString());
    assertEquals("error code: " + status, client.body());
  }

  /** A head the front end refuses before any zone sees it (:protocol outside a CONNECT) is answered alike. */
  @ParameterizedTest(name = "tls {0}")
  @ValueSource(booleans = {false, true})
  void aRefusedHeadOfAHeadIsAHeadWithoutData(boolean tls) throws Exception {
    FrameClient client = FrameClient.connect(scope, scope.nettyGroup(), tls ? proxy.httpsPort() : proxy.httpPort(),
      tls);

    String path = "/refused-head" + (tls ? "-tls" : "");
    Http2FrameStream head = client.open(request("HEAD", tls, "up.test", path)
      .set(Http2Headers.PseudoHeaderName.PROTOCOL.value(), "websocket"), true);

    assertEquals("400", client.head().status().toString());
    assertTrue(client.awaitEnd());
    assertEquals(List.of("HEADERS end"), client.framesOf(head));
    Await.until(() -> proxy.lastRecord(path) != null, "the access record");
    assertEquals(0, proxy.lastRecord(path).bytesOut());
  }

  private static Http2Headers request(String method, boolean tls, String authority, String path) {
    return new DefaultHttp2Headers().method(method).scheme(tls ? "https" : "http").authority(authority).path(path);
  }
}
