package io.muxgate.forward;

import io.muxgate.admin.AdminApi;
import io.muxgate.observe.ExchangeRecord;
import io.muxgate.support.Await;
import io.muxgate.support.FrameClient;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * An HTTP/2 request whose {@code host} names another entity than its {@code :authority} is malformed
 * (RFC 9113, section 8.3.1): the proxy answers it with its own 400, logged and counted like its other
 * refusals, rather than a bare RST_STREAM nobody sees; the connection's other streams go on. A
 * {@code host} that names the same entity once normalized (RFC 3986, section 6.2.3: case, default port) is
 * served.
 */
class HostAuthorityConflictTest {

  @RegisterExtension
  final TestScope scope = new TestScope();
  private TestOrigin origin;
  private ProxyHarness proxy;

  @ParameterizedTest(name = "tls {0}")
  @ValueSource(booleans = {false, true})
  void aHostThatDiffersFromTheAuthorityGetsTheProxysOwn400(boolean tls) throws Exception {
    FrameClient client = connect(tls);

    client.open(head(tls, "/mismatch").add("host", "elsewhere.test"), true);

    Http2Headers answer = client.head();
    assertEquals("400", answer.status().toString());
    assertEquals("host_mismatch", answer.get("muxgate-error").toString());
    assertEquals("error code: 400", client.body());
    Await.until(() -> proxy.lastRecord("/mismatch") != null, "the access record");
    ExchangeRecord record = proxy.lastRecord("/mismatch");
    assertEquals(400, record.status());
    assertEquals("host_mismatch", record.error());
    assertEquals("HTTP/2", record.clientProtocol());
    assertEquals("z.test", record.host().host(), "the :authority it sent");
    assertNull(record.origin());
    assertEquals(1, new AdminApi(scope.vertx(), proxy.adminPort())
      .metric("muxgate_requests_total", "code=\"400\",zone=\"\""));

    // Only that stream was refused: the connection serves the next request.
    client.open(head(tls, "/next"), true);
    assertEquals("200", client.head().status().toString());
    assertEquals("hello", client.body());
    assertEquals(1, origin.requests(), "the malformed request reached no origin");
  }

  @ParameterizedTest(name = "tls {0}")
  @ValueSource(booleans = {false, true})
  void aHostThatNamesTheAuthorityInAnotherSpellingIsServed(boolean tls) throws Exception {
    FrameClient client = connect(tls);

    client.open(head(tls, "/same").add("host", tls ? "Z.Test:443" : "Z.Test:80"), true);

    assertEquals("200", client.head().status().toString());
    assertEquals("hello", client.body());
    assertEquals(1, origin.requests());
  }

  /** An origin answering "hello", the proxy in front of it for z.test, and a frame-level client to it. */
  private FrameClient connect(boolean tls) throws Exception {
    origin = scope.startOrigin(TestOrigin.Mode.H2C);
    proxy = scope.startProxy("z", origin.url(), null);
    return FrameClient.connect(scope, scope.nettyGroup(), tls ? proxy.httpsPort() : proxy.httpPort(), tls);
  }

  private static Http2Headers head(boolean tls, String path) {
    return new DefaultHttp2Headers().method("GET").scheme(tls ? "https" : "http").authority("z.test").path(path);
  }
}
