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
import java.util.concurrent.TimeUnit;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * An origin whose certificate the proxy refuses is told why, as RFC 8446, section 6.2 has it: {@code unknown_ca}
 * for one no trusted CA issued, {@code bad_certificate} for one naming another host. The handshake once
 * ended with {@code internal_error} for both, which sends the origin's operator looking for a fault in
 * the proxy. The client's answer stays 526 {@code certificate_invalid}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OriginCertificateAlertTest {

  private Vertx vertx;
  private JdkTlsOrigin origin;
  private JdkTlsOrigin expired;
  private ProxyHarness proxy;
  private HttpClientAgent client;

  @BeforeAll
  void start() throws Exception {
    vertx = Vertx.vertx();
    X509Bundle served = certificate("origin.test");
    origin = new JdkTlsOrigin(served);
    X509Bundle expiredCa = certificate("ca.test");
    X509Bundle expiredLeaf = new CertificateBuilder().subject("CN=origin.test").addSanDnsName("origin.test")
      .notBefore(Instant.now().minus(2, ChronoUnit.DAYS)).notAfter(Instant.now().minus(1, ChronoUnit.DAYS))
      .ecp256().addExtendedKeyUsageServerAuth().buildIssuedBy(expiredCa);
    expired = new JdkTlsOrigin(expiredLeaf);
    String servedCa = served.toTempRootCertPem().toString();
    String otherCa = certificate("other-ca.test").toTempRootCertPem().toString();
    String url = "https://127.0.0.1:" + origin.port();
    proxy = ProxyHarness.start(vertx, Map.of(
      "unknown-ca.json", zone("unknown-ca", "unknown-ca.test", List.of(url), null)
        .put("origin_sni", "origin.test").put("origin_ca_file", otherCa),
      "system-ca.json", zone("system-ca", "system-ca.test", List.of(url), null)
        .put("origin_sni", "origin.test"),
      "other-name.json", zone("other-name", "other-name.test", List.of(url), null)
        .put("origin_sni", "other.test").put("origin_ca_file", servedCa),
      "expired.json", zone("expired", "expired.test", List.of("https://127.0.0.1:" + expired.port()), null)
        .put("origin_sni", "origin.test").put("origin_ca_file", expiredCa.toTempRootCertPem().toString())));
    client = proxy.h2cClient();
  }

  @AfterAll
  void stop() throws IOException {
    Await.result(client.close(), 5);
    proxy.close();
    origin.close();
    expired.close();
    Await.result(vertx.close(), 10);
  }

  @Test
  void aCertificateFromAnUntrustedCaIsRefusedWithUnknownCa() throws InterruptedException {
    assertRefusedWith("unknown-ca.test", "unknown_ca");
  }

  @Test
  void aCertificateNoSystemCaIssuedIsRefusedWithUnknownCa() throws InterruptedException {
    assertRefusedWith("system-ca.test", "unknown_ca");
  }

  @Test
  void aCertificateForAnotherHostIsRefusedWithBadCertificate() throws InterruptedException {
    assertRefusedWith("other-name.test", "bad_certificate");
  }

  /** Netty told these apart before: the alert for a certificate past its date stays certificate_expired. */
  @Test
  void aCertificatePastItsDateIsRefusedWithCertificateExpired() throws InterruptedException {
    assertRefusedWith(expired, "expired.test", "certificate_expired");
  }

  private void assertRefusedWith(String host, String alert) throws InterruptedException {
    assertRefusedWith(origin, host, alert);
  }

  private void assertRefusedWith(JdkTlsOrigin origin, String host, String alert) throws InterruptedException {
    origin.failedHandshakes.clear();

    Exchange exchange = Await.result(Exchange.get(client, host, "/"), 15);

    assertEquals(526, exchange.status(), exchange.body());
    assertEquals("certificate_invalid", exchange.header("muxgate-error"));
    String said = origin.failedHandshakes.poll(10, TimeUnit.SECONDS);
    assertNotNull(said, "the origin saw no handshake fail");
    assertEquals("Received fatal alert: " + alert, said);
  }

  private static X509Bundle certificate(String name) throws Exception {
    return new CertificateBuilder()
      .subject("CN=" + name)
      .addSanDnsName(name)
      .notBefore(Instant.now().minus(1, ChronoUnit.DAYS))
      .notAfter(Instant.now().plus(1, ChronoUnit.DAYS))
      .ecp256()
      .setIsCertificateAuthority(true)
      .addExtendedKeyUsageServerAuth()
      .buildSelfSigned();
  }
}
