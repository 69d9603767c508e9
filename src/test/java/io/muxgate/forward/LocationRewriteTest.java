package io.muxgate.forward;

import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Absolute Location and Content-Location headers that name an origin come back naming the proxy, with
 * the client's scheme and host and a stripped route prefix restored (Apache's ProxyPassReverse); any
 * other value passes untouched. For every client kind, through HTTP/2 and HTTP/1.1 origins.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LocationRewriteTest {

  @RegisterExtension
  final TestScope scope = new TestScope();
  private TestOrigin h2cOrigin;
  private TestOrigin h1Origin;
  private ProxyHarness proxy;

  @BeforeAll
  void start() {
    h2cOrigin = scope.startOrigin(TestOrigin.Mode.H2C);
    h2cOrigin.handler(request -> answer(request, h2cOrigin));
    h1Origin = scope.startOrigin(TestOrigin.Mode.H1);
    h1Origin.handler(request -> answer(request, h1Origin));
    proxy = scope.startProxy(Map.of(
      "h2c.json", withApiRoute(zone("h2c", "h2c.test", List.of(h2cOrigin.url()), null), h2cOrigin),
      "h1.json", withApiRoute(zone("h1", "h1.test", List.of(h1Origin.url()),
        new JsonObject().put("origin_max_http_version", "1")), h1Origin)));
  }

  static Stream<Arguments> clientsAndOrigins() {
    return Stream.of(ClientKind.H2C, ClientKind.H2_TLS, ClientKind.HTTP1)
      .flatMap(kind -> Stream.of(Arguments.of(kind, "h2c.test"), Arguments.of(kind, "h1.test")));
  }

  @ParameterizedTest(name = "{0} client, origin {1}")
  @MethodSource("clientsAndOrigins")
  void locationsNamingTheOriginNameTheProxy(ClientKind kind, String host) {
    Exchange plain = Await.result(Exchange.get(scope.client(kind, proxy), host, "/moved"));
    Exchange routed = Await.result(Exchange.get(scope.client(kind, proxy), host, "/api/moved"));

    String scheme = kind.tls() ? "https" : "http";
    assertEquals(302, plain.status());
    assertEquals(scheme + "://" + host + "/next?a=1#top", plain.header("location"));
    assertEquals(scheme + "://" + host + "/here", plain.header("content-location"));
    assertEquals(scheme + "://" + host + "/api/next?a=1#top", routed.header("location"),
      "the stripped prefix is restored");
    assertEquals(host.equals("h2c.test") ? "2 muxgate" : "1.1 muxgate", plain.header("via"),
      "Via is still added, naming the protocol the response came in on");
  }

  @ParameterizedTest(name = "{0} client, origin {1}")
  @MethodSource("clientsAndOrigins")
  void otherLocationsPassUntouched(ClientKind kind, String host) {
    Exchange elsewhere = Await.result(Exchange.get(scope.client(kind, proxy), host, "/elsewhere"));

    assertEquals("http://other.example/x", elsewhere.header("location"));
    assertEquals("/relative", elsewhere.header("content-location"));
  }

  private static JsonObject withApiRoute(JsonObject zone, TestOrigin origin) {
    return zone.put("routes", new JsonArray().add(new JsonObject().put("prefix", "/api/")
      .put("origins", new JsonArray().add(origin.url())).put("strip_prefix", true)));
  }

  private static void answer(HttpServerRequest request, TestOrigin origin) {
    String self = "http://127.0.0.1:" + origin.port();
    switch (request.path()) {
      case "/moved" -> request.response().setStatusCode(302)
        .putHeader("location", self + "/next?a=1#top")
        .putHeader("content-location", self + "/here").end();
      case "/elsewhere" -> request.response().setStatusCode(302)
        .putHeader("location", "http://other.example/x")
        .putHeader("content-location", "/relative").end();
      default -> request.response().setStatusCode(404).end();
    }
  }
}
