package io.muxgate.forward;

import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.HostAndPort;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.List;
import java.util.Map;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The three cleartext ways to reach an origin: h2c with prior knowledge, an h2c Upgrade from
 * {@code http://} when the zone allows HTTP/2, and plain HTTP/1.1 when the origin ignores the Upgrade.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OriginProtocolsTest {

  @RegisterExtension
  final TestScope scope = new TestScope();
  private TestOrigin priorKnowledge;
  private TestOrigin upgrading;
  private TestOrigin http1Only;
  private HttpClientAgent client;

  @BeforeAll
  void start() {
    priorKnowledge = scope.startOrigin(TestOrigin.Mode.H2C).handler(OriginProtocolsTest::echo);
    upgrading = scope.startOrigin(TestOrigin.Mode.H2C).handler(OriginProtocolsTest::echo);
    http1Only = scope.startOrigin(TestOrigin.Mode.H1).handler(OriginProtocolsTest::echo);
    JsonObject version2 = new JsonObject().put("origin_max_http_version", "2");
    ProxyHarness proxy = scope.startProxy(Map.of(
      "prior.json", zone("prior", "prior.test", List.of(priorKnowledge.url()), null),
      "upgrade.json", zone("upgrade", "upgrade.test", List.of("http://127.0.0.1:" + upgrading.port()), version2),
      "plain.json", zone("plain", "plain.test", List.of(http1Only.url()), version2)));
    client = scope.client(ClientKind.H2C, proxy);
  }

  /** Answers with the protocol it was reached over and the size of the body it read. */
  private static void echo(HttpServerRequest request) {
    request.body().onSuccess(body -> request.response()
      .putHeader("x-origin-protocol", request.version().name())
      .end("read " + body.length()));
  }

  @Test
  void h2cPriorKnowledgeOriginIsReachedOverHttp2() {
    assertServedOver("prior.test", HttpVersion.HTTP_2);
    assertEquals(List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_2), priorKnowledge.versions());
  }

  @Test
  void httpOriginOfferingH2cIsUpgradedToHttp2() {
    assertServedOver("upgrade.test", HttpVersion.HTTP_2);
    assertEquals(1, upgrading.connectionsAccepted(), "both requests share the upgraded connection");
    assertTrue(upgrading.received().stream().allMatch(r -> r.version() == HttpVersion.HTTP_2
      || r.method() == HttpMethod.OPTIONS), "only the upgrade request itself may arrive as HTTP/1.1");
  }

  @Test
  void httpOriginIgnoringTheUpgradeIsServedOverHttp1() {
    assertServedOver("plain.test", HttpVersion.HTTP_1_1);
    assertTrue(http1Only.received().stream().anyMatch(r -> "h2c".equalsIgnoreCase(r.getHeader("upgrade"))),
      "the proxy offered the h2c Upgrade");
    assertTrue(http1Only.versions().stream().allMatch(v -> v == HttpVersion.HTTP_1_1), "" + http1Only.versions());
  }

  /** A GET and a POST with a body of unknown length both reach the origin over {@code expected}. */
  private void assertServedOver(String host, HttpVersion expected) {
    Exchange get = Await.result(Exchange.get(client, host, "/"));
    assertEquals(200, get.status(), get.body());
    assertEquals(expected.name(), get.header("x-origin-protocol"));
    assertEquals("read 0", get.body());

    Exchange post = Await.result(client.request(HttpMethod.POST, "/upload").compose(req -> {
      req.authority(HostAndPort.create(host, -1)).setChunked(true);
      req.write("first;");
      return req.send(Buffer.buffer("second")).compose(resp -> resp.body()
        .map(b -> new Exchange(resp.statusCode(), resp.headers(), b.toString(), resp.version())));
    }));
    assertEquals(200, post.status(), post.body());
    assertEquals(expected.name(), post.header("x-origin-protocol"));
    assertEquals("read 12", post.body());
  }
}
