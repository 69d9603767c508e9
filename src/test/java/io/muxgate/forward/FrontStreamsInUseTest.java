package io.muxgate.forward;

import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.http.HttpClientAgent;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * HTTP/2 client streams (TLS and prior-knowledge h2c) run on the front end's own frames
 * ({@link io.muxgate.frontend.FrontStreams}) unless {@code -Dmuxgate.front_streams=false}, which the pom's
 * vertx-streams-only run sets; HTTP/1.1 and an h2c upgrade's first stream stay with Vert.x. A Vert.x upgrade that
 * moved its frame listener would make the front end quietly fall back to Vert.x's streams; this notices.
 */
class FrontStreamsInUseTest {

  @RegisterExtension
  final TestScope scope = new TestScope();

  @Test
  void http2ClientConnectionsCarryFrontStreamsUnlessSwitchedOff() {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(request -> request.response().end("ok"));
    ProxyHarness proxy = scope.startProxy("site", origin.url(), null);
    for (ClientKind kind : ClientKind.values()) {
      HttpClientAgent client = scope.client(kind, proxy);
      for (int i = 0; i < 2; i++) { // after an h2c upgrade, the second request is a stream of the front end's
        Exchange get = Await.result(Exchange.get(client, "site.test", "/page"));
        assertEquals(200, get.status(), kind + ": " + get.body());
        assertEquals("ok", get.body(), kind.toString());
      }
    }

    boolean switchedOff = "false".equalsIgnoreCase(System.getProperty("muxgate.front_streams"));
    assertEquals(switchedOff ? 0 : 3, proxy.app().frontStreamConnections(),
      "client connections whose streams run as the front end's frames: h2 over TLS, h2c, h2c upgraded");
  }
}
