package io.muxgate.forward;

import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Map;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

/**
 * Routes match the path with its dot segments resolved (RFC 3986, section 5.2.4) and its encoded unreserved
 * characters decoded (section 6.2.2.2), and the origin gets that path: {@code /public/../admin/x} and
 * {@code /%61dmin/x} are requests for {@code /admin/x}, which another route's origin would otherwise serve
 * after normalizing the path itself.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DotSegmentRouteTest {

  @RegisterExtension
  final TestScope scope = new TestScope();
  private TestOrigin site;
  private TestOrigin open;
  private TestOrigin admin;
  private ProxyHarness proxy;

  @BeforeAll
  void start() {
    site = scope.startOrigin(TestOrigin.Mode.H2C);
    open = scope.startOrigin(TestOrigin.Mode.H1);
    admin = scope.startOrigin(TestOrigin.Mode.H2C);
    JsonObject z = zone("z", "z.test", List.of(site.url()), null).put("routes", new JsonArray()
      .add(new JsonObject().put("prefix", "/public/").put("origins", new JsonArray().add(open.url())))
      .add(new JsonObject().put("prefix", "/admin/").put("origins", new JsonArray().add(admin.url()))
        .put("strip_prefix", true)));
    proxy = scope.startProxy(Map.of("z.json", z));
  }

  @ParameterizedTest(name = "{0} client")
  @EnumSource(value = ClientKind.class, names = {"HTTP1", "H2C", "H2_TLS"})
  void aPathClimbingOutOfARouteGoesWhereItLeads(ClientKind kind) {
    int opened = open.requests();
    for (String path : List.of("/public/../admin/x?q=1", "/public/%2E%2e/admin/x?q=1", "/public/.%2e/admin/./x?q=1")) {
      Exchange answer = Await.result(Exchange.get(scope.client(kind, proxy), "z.test", path));

      assertEquals(200, answer.status(), path);
      assertEquals(opened, open.requests(), path + " reached the /public/ origin");
      assertEquals("/x?q=1", admin.received().get(admin.requests() - 1).uri(), path);
    }
  }

  @ParameterizedTest(name = "{0} client")
  @EnumSource(value = ClientKind.class, names = {"HTTP1", "H2C"})
  void aPathClimbingIntoARouteIsRoutedThere(ClientKind kind) {
    int sited = site.requests();
    Exchange answer = Await.result(Exchange.get(scope.client(kind, proxy), "z.test", "/other/../public/page"));

    assertEquals(200, answer.status());
    assertEquals(sited, site.requests(), "the zone's default origin got it");
    assertEquals("/public/page", open.received().get(open.requests() - 1).uri());
  }

  /**
   * RFC 3986, section 6.2.2.2 (RFC 9110, section 4.2.3): a percent-encoded unreserved character is the
   * character itself, as the origin reads it. Matched encoded, {@code /%61dmin/x} missed the {@code /admin/}
   * route and reached the zone's default origin, which served {@code /admin/x}.
   */
  @ParameterizedTest(name = "{0} client")
  @EnumSource(value = ClientKind.class, names = {"HTTP1", "H2C", "H2_TLS"})
  void anEncodedUnreservedCharacterKeepsAPathInItsRoute(ClientKind kind) {
    int sited = site.requests();
    for (String path : List.of("/%61dmin/x?q=%61", "/adm%69n/x?q=%61", "/%61%64%6D%69%6E/x?q=%61")) {
      Exchange answer = Await.result(Exchange.get(scope.client(kind, proxy), "z.test", path));

      assertEquals(200, answer.status(), path);
      assertEquals(sited, site.requests(), path + " reached the zone's default origin");
      assertEquals("/x?q=%61", admin.received().get(admin.requests() - 1).uri(), path);
    }
  }

  @ParameterizedTest
  @CsvSource({
    "/%61%62c, /abc",
    "/%7Euser/%2d%2E%5f%30, /~user/-._0",
    "/a%2Fb/%2f, /a%2Fb/%2f",
    "/a%20b%25%3F, /a%20b%25%3F",
    "/%2561, /%2561",
    "/a?%61, /a?%61",
    "/%6, /%6",
    "/a%6g%zz%, /a%6g%zz%",
  })
  void unreservedCharactersAreDecodedInThePathOnly(String uri, String decoded) {
    assertEquals(decoded, RequestTarget.withUnreservedDecoded(uri));
  }

  @ParameterizedTest
  @ValueSource(strings = {"/", "/a/b?c=%61", "*", "/a%2Fb", "/%C3%A9"})
  void aTargetWithoutEncodedUnreservedCharactersIsTheSameString(String uri) {
    assertSame(uri, RequestTarget.withUnreservedDecoded(uri));
  }

  @ParameterizedTest
  @CsvSource({
    "/a/b/../c, /a/c",
    "/a/./b/., /a/b/",
    "/a/b/.., /a/",
    "/.., /",
    "/../../x, /x",
    "/a//../b, /a/b",
    "/a/%2e/b?x=/../y, /a/b?x=/../y",
    "/a/..., /a/...",
    "/a/.b/..c/%2ex, /a/.b/..c/%2ex",
    "/a/b%2e/%2e%2, /a/b%2e/%2e%2",
  })
  void dotSegmentsResolveAsRfc3986Says(String uri, String resolved) {
    assertEquals(resolved, RequestTarget.withoutDotSegments(uri));
  }

  @ParameterizedTest
  @ValueSource(strings = {"/", "/a/b?c=../d", "*", "/a.b/c..d/", "/%41/b"})
  void aTargetWithoutDotSegmentsIsTheSameString(String uri) {
    assertSame(uri, RequestTarget.withoutDotSegments(uri));
  }
}
