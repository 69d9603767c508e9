package io.muxgate.origin;

import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestScope;
import io.muxgate.testing.FaultActions;
import io.muxgate.testing.FaultOrigin;
import io.muxgate.testing.FaultPolicy;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every GOAWAY the proxy sends an origin names last-stream-id 0: the proxy is the client there, and the
 * last-stream-id of a GOAWAY counts the streams the peer opened (RFC 9113, section 6.8), of which an
 * origin opens none. Netty's GOAWAY after a connection error said 2^31-1, which nghttp2 (Node's origins)
 * takes for a protocol error of the proxy's and reports as -505 instead of the error the proxy named.
 */
class GoAwayToOriginTest {

  private static final Duration WAIT = Duration.ofSeconds(10);

  @RegisterExtension
  final TestScope scope = new TestScope();

  @Test
  void aConnectionErrorGoesAwayWithLastStreamIdZeroAndTheErrorsCode() {
    FaultOrigin origin = scope.track(FaultOrigin.start(FaultPolicy.always(FaultActions.dataFrameOnStreamZero())));
    HttpClientAgent client = scope.client(ClientKind.H2C, proxy(origin, null));

    assertEquals(520, Await.result(Exchange.get(client, "g.test", "/protocol-error")).status());

    origin.stats().await("the proxy's GOAWAY", s -> !s.goAwaysReceived().isEmpty(), WAIT);
    assertEquals(List.of(FaultActions.PROTOCOL_ERROR), origin.stats().goAwaysReceived());
    assertEquals(List.of(0), origin.stats().goAwayLastStreamIds());
  }

  @Test
  void anIdleCloseGoesAwayWithLastStreamIdZero() {
    FaultOrigin origin = scope.track(FaultOrigin.start(FaultPolicy.always(FaultActions.ok("ok"))));
    HttpClientAgent client = scope.client(ClientKind.H2C, proxy(origin, new JsonObject().put("origin_idle_timeout", 1)));

    assertEquals(200, Await.result(Exchange.get(client, "g.test", "/")).status());

    origin.stats().await("the idle connection closed", s -> s.openConnections() == 0, WAIT);
    assertEquals(List.of(FaultActions.NO_ERROR), origin.stats().goAwaysReceived());
    assertEquals(List.of(0), origin.stats().goAwayLastStreamIds());
  }

  @Test
  void aShutdownGoesAwayWithLastStreamIdZero() {
    FaultOrigin origin = scope.track(FaultOrigin.start(FaultPolicy.always(FaultActions.ok("ok"))));
    ProxyHarness proxy = proxy(origin, null);
    HttpClientAgent client = scope.client(ClientKind.H2C, proxy);
    assertEquals(200, Await.result(Exchange.get(client, "g.test", "/")).status());

    Await.result(proxy.app().shutdown(), 15);

    origin.stats().await("the drained connection closed", s -> s.openConnections() == 0, WAIT);
    assertEquals(List.of(FaultActions.NO_ERROR), origin.stats().goAwaysReceived());
    assertEquals(List.of(0), origin.stats().goAwayLastStreamIds());
  }

  private ProxyHarness proxy(FaultOrigin origin, JsonObject settings) {
    return scope.startProxy("g", "h2c://" + origin.authority(), settings);
  }
}
