package io.muxgate.origin;

import io.muxgate.support.Await;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestScope;
import io.muxgate.testing.CannedResponse;
import io.muxgate.testing.FaultActions;
import io.muxgate.testing.FaultOrigin;
import io.vertx.core.http.HttpClientAgent;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A stream toward an HTTP/2 origin starts with a small receive window, which is all a client that never reads
 * can make the proxy hold, and grows it while its client takes what it is sent, so a large download is not
 * bound by the small one.
 */
class OriginStreamWindowTest {

  @RegisterExtension
  final TestScope scope = new TestScope();

  @Test
  void aStreamWindowStartsSmallAndGrowsWhileItsClientReads() {
    byte[] body = new byte[4 * OriginClients.STREAM_WINDOW];
    Arrays.fill(body, (byte) 'a');
    FaultOrigin origin = scope.track(FaultOrigin.start(request -> FaultActions.respond(CannedResponse.ok("").withBody(body))));
    ProxyHarness proxy = scope.track(ProxyHarness.start(scope.vertx(), Map.of("z.json",
      zone("z", "z.test", List.of("h2c://" + origin.authority()), null))));
    HttpClientAgent client = proxy.h2cClient();
    scope.track(() -> client.close().await());

    Exchange download = Await.result(Exchange.get(client, "z.test", "/big"), 30);

    assertEquals(200, download.status());
    assertEquals(body.length, download.body().length());
    assertEquals(OriginClients.INITIAL_STREAM_WINDOW, origin.stats().initialWindowSizeReceived(),
      "the stream window the origin is first given");
    if (FrameStreams.ENABLED) {
      // Netty refills a stream's window by at most its size: a larger increment is the window grown.
      assertTrue(origin.stats().largestStreamWindowUpdate() > OriginClients.INITIAL_STREAM_WINDOW,
        "largest stream WINDOW_UPDATE " + origin.stats().largestStreamWindowUpdate());
    }
  }
}
