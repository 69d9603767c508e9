package io.muxgate.origin;

import io.muxgate.support.Await;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.IOException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * An origin whose certificate has an Ed25519 key, issued by an Ed25519 CA the zone trusts with
 * {@code origin_ca_file}, is reached as curl and Go's clients reach it. BoringSSL's client offers no Ed25519
 * signatures, and every request was a 525; such zones connect with the JDK's TLS engine.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class Ed25519OriginTest {

  private Vertx vertx;
  private JdkTlsOrigin origin;
  private ProxyHarness proxy;
  private HttpClientAgent client;

  @BeforeAll
  void start() throws Exception {
    vertx = Vertx.vertx();
    X509Bundle ca = ed25519Ca("CN=Ed25519 CA");
    origin = new JdkTlsOrigin(new CertificateBuilder()
      .subject("CN=origin.test")
      .addSanDnsName("origin.test")
      .notBefore(Instant.now().minus(1, ChronoUnit.DAYS))
      .notAfter(Instant.now().plus(1, ChronoUnit.DAYS))
      .algorithm(CertificateBuilder.Algorithm.ed25519)
      .addExtendedKeyUsageServerAuth()
      .buildIssuedBy(ca));
    String url = "https://127.0.0.1:" + origin.port();
    proxy = ProxyHarness.start(vertx, Map.of(
      "trusted.json", zone("trusted", "trusted.test", List.of(url), null)
        .put("origin_sni", "origin.test").put("origin_ca_file", ca.toTempRootCertPem().toString()),
      "other-ca.json", zone("other-ca", "other-ca.test", List.of(url), null)
        .put("origin_sni", "origin.test")
        .put("origin_ca_file", ed25519Ca("CN=Other Ed25519 CA").toTempRootCertPem().toString())));
    client = proxy.h2cClient();
  }

  @AfterAll
  void stop() throws IOException {
    Await.result(client.close(), 5);
    proxy.close();
    origin.close();
    Await.result(vertx.close(), 10);
  }

  @Test
  void anEd25519CertificateFromTheZonesCaIsTrusted() {
    Exchange exchange = Await.result(Exchange.get(client, "trusted.test", "/"), 15);

    assertEquals(200, exchange.status(), exchange.body() + " / " + exchange.header("muxgate-error"));
    assertEquals("jdk", exchange.body());
  }

  @Test
  void anEd25519CertificateFromAnotherCaIsStillRefused() {
    Exchange exchange = Await.result(Exchange.get(client, "other-ca.test", "/"), 15);

    assertEquals(526, exchange.status(), exchange.body());
    assertEquals("certificate_invalid", exchange.header("muxgate-error"));
  }

  private static X509Bundle ed25519Ca(String subject) throws Exception {
    return new CertificateBuilder()
      .subject(subject)
      .notBefore(Instant.now().minus(1, ChronoUnit.DAYS))
      .notAfter(Instant.now().plus(1, ChronoUnit.DAYS))
      .algorithm(CertificateBuilder.Algorithm.ed25519)
      .setIsCertificateAuthority(true)
      .buildSelfSigned();
  }
}
