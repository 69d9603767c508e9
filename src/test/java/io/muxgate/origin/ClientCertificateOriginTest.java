package io.muxgate.origin;

import io.muxgate.support.Await;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpClientAgent;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * An origin that requires a client certificate, which Muxgate does not present. Over TLS 1.3 the
 * origin's refusal comes after the client's side of the handshake is done, as an alert on the
 * connection's first read; with HTTP/1.1 that read belongs to the first request. Either way it is the
 * handshake that failed: 525, not an invalid response.
 */
class ClientCertificateOriginTest {

  @RegisterExtension
  final TestScope scope = new TestScope();

  @ParameterizedTest
  @EnumSource(value = TestOrigin.Mode.class, names = {"TLS_H1", "TLS_H2"})
  void anOriginThatRequiresAClientCertificateGives525(TestOrigin.Mode mode) {
    TestOrigin origin = scope.track(TestOrigin.start(scope.vertx(), mode, options -> options
      .setClientAuth(ClientAuth.REQUIRED)
      .setEnabledSecureTransportProtocols(Set.of("TLSv1.3"))
      .setUseAlpn(mode == TestOrigin.Mode.TLS_H2)));
    ProxyHarness proxy = scope.track(ProxyHarness.start(scope.vertx(), Map.of("z.json",
      zone("z", "z.test", List.of("https://127.0.0.1:" + origin.port()), null).put("origin_tls_verify", false))));
    HttpClientAgent client = proxy.h1Client();
    scope.track(() -> client.close().await());

    Exchange exchange = Await.result(Exchange.get(client, "z.test", "/"));

    assertEquals(525, exchange.status(), exchange.body());
    assertEquals("tls_handshake_failed", exchange.header("muxgate-error"));
  }
}
