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
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;
import java.util.Map;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/** A Host or :authority that belongs to no zone is answered 421 by the proxy and goes nowhere. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class UnknownHostTest {

  @RegisterExtension
  final TestScope scope = new TestScope();
  private TestOrigin origin;
  private ProxyHarness proxy;

  @BeforeAll
  void start() {
    origin = scope.startOrigin(TestOrigin.Mode.H2C);
    proxy = scope.startProxy(Map.of("known.json",
      zone("known", "known.test", List.of(origin.url()), null).put("hosts", List.of("known.test", "*.known.test"))));
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ClientKind.class)
  void unknownHostGets421AndReachesNoOrigin(ClientKind kind) {
    HttpClientAgent client = scope.client(kind, proxy);
    for (String host : List.of("unknown.test", "notknown.test", "known.test.evil")) {
      Exchange get = Await.result(Exchange.get(client, host, "/"));
      assertRejected(get);
    }
    Exchange post = Await.result(Exchange.send(client, HttpMethod.POST, "other.test", "/upload", req -> {
    }, Buffer.buffer("x".repeat(100_000))));
    assertRejected(post);
    assertEquals(0, origin.connectionsAccepted(), "connections to the origin");
    assertEquals(0, origin.requests(), "requests at the origin");
  }

  private static void assertRejected(Exchange exchange) {
    assertEquals(421, exchange.status(), exchange.body());
    assertEquals("error code: 421", exchange.body());
    assertNotNull(exchange.header("muxgate-error"), "muxgate-error header");
  }
}
