package io.muxgate.origin;

import io.muxgate.support.Await;
import io.muxgate.support.CapturedLog;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The name the proxy indicates and verifies. A fully qualified name with its root dot ({@code origin.test.}), as origins inside Kubernetes are often
 * written to skip the resolver's search domains, is resolved as written but indicated (SNI) and verified
 * without the dot: RFC 6066 forbids it in SNI, and the JDK refuses such a name, which failed every
 * handshake as a 525. curl and Envoy drop the dot the same way. A certificate that does not fit is
 * logged with why, as nginx logs "upstream SSL certificate verify error".
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OriginServerNameTest {

  private LoopbackDnsStub dns;
  private Vertx vertx;
  private NamedTlsOrigin origin;
  private ProxyHarness proxy;
  private HttpClientAgent client;

  @BeforeAll
  void start() throws IOException {
    dns = new LoopbackDnsStub(Map.of("origin.test", List.of("127.0.0.2", "127.0.0.1")));
    vertx = dns.vertx();
    origin = new NamedTlsOrigin(vertx, "origin.test");
    String ca = origin.certificateFile().toString();
    proxy = ProxyHarness.start(vertx, Map.of(
      "fqdn.json", zone("fqdn", "fqdn.test", List.of("https://origin.test.:" + origin.port()), null)
        .put("origin_ca_file", ca),
      "fqdn-sni.json", zone("fqdn-sni", "fqdn-sni.test", List.of(origin.url()), null)
        .put("origin_sni", "origin.test.").put("origin_ca_file", ca),
      "location-fqdn.json", zone("location-fqdn", "location-fqdn.test", List.of("https://origin.test.:" + origin.port()),
        null).put("origin_ca_file", ca),
      "location-sni.json", zone("location-sni", "location-sni.test", List.of(origin.url()), null)
        .put("origin_sni", "origin.test.").put("origin_ca_file", ca),
      "other-name.json", zone("other-name", "other-name.test", List.of(origin.url()), null)
        .put("origin_sni", "other.test").put("origin_ca_file", ca)));
    client = proxy.h2cClient();
  }

  @AfterAll
  void stop() throws IOException {
    Await.result(client.close(), 5);
    proxy.close();
    origin.close();
    Await.result(vertx.close(), 10);
    dns.close();
  }

  @Test
  void anOriginNamedWithItsRootDotIsIndicatedAndVerifiedWithoutIt() {
    Exchange exchange = Await.result(Exchange.get(client, "fqdn.test", "/"), 15);

    assertEquals(200, exchange.status(), exchange.body() + " / " + exchange.header("muxgate-error"));
    assertEquals(List.of("origin.test"), origin.indicatedNames());
  }

  @Test
  void anOriginSniWithItsRootDotIsIndicatedAndVerifiedWithoutIt() {
    origin.indicatedNames().clear();

    Exchange exchange = Await.result(Exchange.get(client, "fqdn-sni.test", "/"), 15);

    assertEquals(200, exchange.status(), exchange.body() + " / " + exchange.header("muxgate-error"));
    assertEquals(List.of("origin.test"), origin.indicatedNames());
  }

  /**
   * A Location naming the origin is rewritten to name the proxy whether the origin, as configured or as the
   * Location writes it, has its root dot or not: {@code origin.test.} and {@code origin.test} are one name.
   */
  @Test
  void aLocationNamingTheOriginWithOrWithoutItsRootDotNamesTheProxy() {
    for (String zone : List.of("location-fqdn", "location-sni")) {
      for (String name : List.of("origin.test", "origin.test.", "ORIGIN.test")) {
        String location = "https://" + name + ":" + origin.port() + "/next?a=1";
        Exchange exchange = Await.result(Exchange.get(client, zone + ".test",
          "/?location=" + URLEncoder.encode(location, StandardCharsets.UTF_8)), 15);

        assertEquals(302, exchange.status(), exchange.body() + " / " + exchange.header("muxgate-error"));
        assertEquals("http://" + zone + ".test/next?a=1", exchange.header("location"), zone + ": " + location);
      }
    }
    Exchange other = Await.result(Exchange.get(client, "location-fqdn.test",
      "/?location=" + URLEncoder.encode("https://origin.test.example:" + origin.port() + "/", StandardCharsets.UTF_8)), 15);
    assertEquals("https://origin.test.example:" + origin.port() + "/", other.header("location"), "another name");
    origin.indicatedNames().clear(); // the other tests count the handshakes of their own zones
  }

  /** "certificate_invalid" alone left the operator to find out with openssl which check failed. */
  @Test
  void aCertificateForAnotherNameIsLoggedWithTheNameItWasCheckedAgainst() {
    try (CapturedLog log = CapturedLog.infoFrom(OriginHealth.class)) {
      Exchange exchange = Await.result(Exchange.get(client, "other-name.test", "/"), 15);

      assertEquals(526, exchange.status(), exchange.body());
      List<String> lines = log.matching("of zone other-name taken out of balancing");
      assertEquals(1, lines.size(), "lines: " + log.lines());
      assertTrue(lines.get(0).contains("certificate_invalid: ") && lines.get(0).contains("other.test"), lines.get(0));
    }
  }
}
