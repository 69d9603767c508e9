package io.muxgate.origin;

import io.muxgate.support.Await;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.net.SocketAddress;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.net.UnknownHostException;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;

/** The order a new connection tries an origin's addresses in, resolved through a loopback DNS stub. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OriginAddressesTest {

  private LoopbackDnsStub dns;
  private Vertx vertx;
  private ContextInternal context;

  @BeforeAll
  void start() {
    dns = new LoopbackDnsStub(Map.of(
      "three.test", List.of("127.0.0.1", "127.0.0.2", "127.0.0.3"),
      "two.test", List.of("127.0.0.1", "127.0.0.2")));
    vertx = dns.vertx();
    context = (ContextInternal) vertx.getOrCreateContext();
  }

  @AfterAll
  void stop() {
    Await.result(vertx.close(), 10);
    dns.close();
  }

  @Test
  void eachConnectionStartsOneAddressFurtherAndKeepsTheName() {
    OriginAddresses addresses = new OriginAddresses(vertx, SocketAddress.inetSocketAddress(8443, "three.test"));
    assertEquals(List.of("127.0.0.1", "127.0.0.2", "127.0.0.3"), ips(addresses));
    assertEquals(List.of("127.0.0.2", "127.0.0.3", "127.0.0.1"), ips(addresses));
    assertEquals(List.of("127.0.0.3", "127.0.0.1", "127.0.0.2"), ips(addresses));
    assertEquals(List.of("127.0.0.1", "127.0.0.2", "127.0.0.3"), ips(addresses));
    for (SocketAddress address : Await.result(addresses.next(context))) {
      assertEquals("three.test", address.host(), "the name SNI and verification use");
      assertEquals(8443, address.port());
    }
  }

  @Test
  void anAddressThatFailedGoesLastUntilItConnects() {
    OriginAddresses addresses = new OriginAddresses(vertx, SocketAddress.inetSocketAddress(443, "two.test"));
    List<SocketAddress> first = Await.result(addresses.next(context));
    addresses.failed(first.get(0));
    assertEquals(List.of("127.0.0.2", "127.0.0.1"), ips(addresses));
    assertEquals(List.of("127.0.0.2", "127.0.0.1"), ips(addresses), "last, where its turn was to come first");
    addresses.connected(first.get(0));
    assertEquals(List.of("127.0.0.2", "127.0.0.1"), ips(addresses));
    assertEquals(List.of("127.0.0.1", "127.0.0.2"), ips(addresses), "first again in its turn");
  }

  @Test
  void anIpOriginIsThatAddressWithoutALookup() {
    SocketAddress configured = SocketAddress.inetSocketAddress(443, "127.0.0.9");
    List<SocketAddress> order = Await.result(new OriginAddresses(vertx, configured).next(context));
    assertEquals(1, order.size());
    assertSame(configured, order.get(0));
    assertFalse(dns.queriedNames().contains("127.0.0.9"));
  }

  @Test
  void anUnresolvableNameFailsAsUnknownHost() {
    Throwable failure = Await.result(new OriginAddresses(vertx, SocketAddress.inetSocketAddress(443, "nowhere.test"))
      .next(context).transform(ar -> context.succeededFuture(ar.cause())));
    assertInstanceOf(UnknownHostException.class, failure);
  }

  private List<String> ips(OriginAddresses addresses) {
    return Await.result(addresses.next(context)).stream().map(SocketAddress::hostAddress).toList();
  }
}
