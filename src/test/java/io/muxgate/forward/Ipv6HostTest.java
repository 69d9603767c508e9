package io.muxgate.forward;

import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.Future;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.net.HostAndPort;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;
import java.util.Map;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A zone serving a bare IPv6 address, as one serves {@code 127.0.0.1}: a Host or :authority of {@code [::1]},
 * with or without a port, is that zone's. The port is cut after the bracket, not at the address's first
 * colon, and the address is compared whatever its spelling ({@code [0:0::1]}). It was once 421 whatever
 * the zone file said, and a zone file naming {@code [::1]} was refused.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class Ipv6HostTest {

  @RegisterExtension
  final TestScope scope = new TestScope();
  private TestOrigin origin;
  private ProxyHarness proxy;

  @BeforeAll
  void start() {
    origin = scope.startOrigin(TestOrigin.Mode.H2C);
    proxy = scope.startProxy(Map.of("loopback.json",
      zone("loopback", "loopback.test", List.of(origin.url()), null).put("hosts", List.of("[::1]", "2001:DB8::A"))));
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ClientKind.class)
  void anIpv6HostIsServedByItsZoneWithOrWithoutAPort(ClientKind kind) {
    HttpClientAgent client = scope.client(kind, proxy);
    int before = origin.requests();
    for (HostAndPort authority : List.of(HostAndPort.create("[::1]", -1), HostAndPort.create("[::1]", 8443),
      HostAndPort.create("[0:0:0:0:0:0:0:1]", 8443), HostAndPort.create("[2001:db8::a]", 443))) {
      Exchange exchange = Await.result(get(client, authority));

      assertEquals(200, exchange.status(), authority + ": " + exchange.body());
    }
    assertEquals(before + 4, origin.requests(), "requests at the origin");
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ClientKind.class)
  void anotherIpv6HostBelongsToNoZone(ClientKind kind) {
    HttpClientAgent client = scope.client(kind, proxy);
    for (HostAndPort authority : List.of(HostAndPort.create("[::2]", 8443), HostAndPort.create("[::1:0]", -1))) {
      Exchange exchange = Await.result(get(client, authority));

      assertEquals(421, exchange.status(), authority + ": " + exchange.body());
    }
  }

  private static Future<Exchange> get(HttpClientAgent client, HostAndPort authority) {
    return Exchange.send(client, HttpMethod.GET, "unused.test", "/", request -> request.authority(authority), null);
  }
}
