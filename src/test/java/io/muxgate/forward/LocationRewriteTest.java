package io.muxgate.forward;

import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
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
  /** The port of the "split" zone's API route origin, which the zone's own origin redirects to. */
  private int apiPort;

  @BeforeAll
  void start() {
    h2cOrigin = scope.startOrigin(TestOrigin.Mode.H2C);
    h2cOrigin.handler(request -> answer(request, h2cOrigin));
    h1Origin = scope.startOrigin(TestOrigin.Mode.H1);
    h1Origin.handler(request -> answer(request, h1Origin));
    TestOrigin api = scope.startOrigin(TestOrigin.Mode.H2C);
    apiPort = api.port();
    api.handler(request -> {
      String site = "127.0.0.1:" + h2cOrigin.port();
      String self = "127.0.0.1:" + api.port();
      switch (request.path()) {
        case "/to-site" -> request.response().setStatusCode(302).putHeader("location", "http://" + site + "/home").end();
        case "/upper" -> request.response().setStatusCode(302).putHeader("location", "HTTP://" + self + "/u").end();
        case "/relative-scheme" -> request.response().setStatusCode(302).putHeader("location", "//" + self + "/r").end();
        default -> request.response().setStatusCode(404).end();
      }
    });
    HttpServer ipv6 = Await.result(scope.vertx().createHttpServer(new HttpServerOptions().setHost("::1").setPort(0))
      .requestHandler(request -> request.response().setStatusCode(302)
        .putHeader("location", "http://[::1]:" + request.localAddress().port() + "/next?a=1").end())
      .listen());
    proxy = scope.startProxy(Map.of(
      "ipv6.json", zone("ipv6", "ipv6.test", List.of("http://[::1]:" + ipv6.actualPort()),
        new JsonObject().put("origin_max_http_version", "1")),
      "split.json", withApiRoute(zone("split", "split.test", List.of(h2cOrigin.url()), null), api),
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

  /**
   * A Location naming another origin of the zone than the one that answered is rewritten too, with the
   * prefix of the route that origin serves (none for the zone's own); an upper-case scheme and a
   * scheme-relative URL are URLs all the same.
   */
  @ParameterizedTest(name = "{0} client")
  @MethodSource("clients")
  void locationsNamingTheZonesOtherOriginsOrInOtherFormsNameTheProxy(ClientKind kind) {
    String scheme = kind.tls() ? "https" : "http";
    assertEquals(scheme + "://split.test/home",
      Await.result(Exchange.get(scope.client(kind, proxy), "split.test", "/api/to-site")).header("location"));
    assertEquals(scheme + "://split.test/api/u",
      Await.result(Exchange.get(scope.client(kind, proxy), "split.test", "/api/upper")).header("location"));
    assertEquals("//split.test/api/r",
      Await.result(Exchange.get(scope.client(kind, proxy), "split.test", "/api/relative-scheme")).header("location"));
    assertEquals(scheme + "://split.test/api/next?a=1#top",
      Await.result(Exchange.get(scope.client(kind, proxy), "split.test", "/moved-to-api")).header("location"),
      "from the zone's origin to the route's: the route's prefix");
  }

  /**
   * A URL names an IPv6 origin ({@code http://[::1]:8080}) with its address in brackets, which the origin's
   * parsed address has not: such a Location once went to the client as it came, naming the origin.
   */
  @ParameterizedTest(name = "{0} client")
  @MethodSource("clients")
  void aLocationNamingAnIpv6OriginNamesTheProxy(ClientKind kind) {
    Exchange moved = Await.result(Exchange.get(scope.client(kind, proxy), "ipv6.test", "/moved"));

    assertEquals(302, moved.status(), moved.header("muxgate-error"));
    assertEquals((kind.tls() ? "https" : "http") + "://ipv6.test/next?a=1", moved.header("location"));
  }

  static Stream<ClientKind> clients() {
    return Stream.of(ClientKind.H2C, ClientKind.HTTP1);
  }

  private static JsonObject withApiRoute(JsonObject zone, TestOrigin origin) {
    return zone.put("routes", new JsonArray().add(new JsonObject().put("prefix", "/api/")
      .put("origins", new JsonArray().add(origin.url())).put("strip_prefix", true)));
  }

  private void answer(HttpServerRequest request, TestOrigin origin) {
    String self = "http://127.0.0.1:" + origin.port();
    switch (request.path()) {
      case "/moved" -> request.response().setStatusCode(302)
        .putHeader("location", self + "/next?a=1#top")
        .putHeader("content-location", self + "/here").end();
      case "/moved-to-api" -> request.response().setStatusCode(302)
        .putHeader("location", "http://127.0.0.1:" + apiPort + "/next?a=1#top").end();
      case "/elsewhere" -> request.response().setStatusCode(302)
        .putHeader("location", "http://other.example/x")
        .putHeader("content-location", "/relative").end();
      default -> request.response().setStatusCode(404).end();
    }
  }
}
