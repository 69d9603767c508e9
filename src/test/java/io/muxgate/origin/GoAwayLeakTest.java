package io.muxgate.origin;

import io.muxgate.support.Await;
import io.muxgate.support.CapturedLog;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.LeakReports;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestScope;
import io.muxgate.testing.CannedResponse;
import io.muxgate.testing.FaultActions;
import io.muxgate.testing.FaultOrigin;
import io.netty.util.ResourceLeakDetector;
import io.vertx.core.http.HttpClientAgent;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * An origin's GOAWAY is handed to the pool as a copy of the frame's debug data in a buffer of its own
 * (Vert.x 5.0.10 makes it for the connection's GOAWAY handler, from the pool the connection reads with):
 * each must be let go, or every graceful end of an origin connection (nginx's after its
 * {@code keepalive_requests}, an origin's restart) keeps a piece of direct memory for good.
 */
class GoAwayLeakTest {

  private static final int CONNECTIONS = 20;

  @RegisterExtension
  final TestScope scope = new TestScope();

  @Test
  void everyGoAwayFromTheOriginIsLetGo() throws InterruptedException {
    ResourceLeakDetector.Level before = ResourceLeakDetector.getLevel();
    ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
    try (CapturedLog log = CapturedLog.warningsUnder("io.netty")) {
      // Each request is its connection's last: GOAWAY naming it, then its answer, then the close.
      FaultOrigin origin = scope.track(FaultOrigin.start(request -> exchange ->
        FaultActions.goAway(exchange.streamId(), CannedResponse.ok("last")).perform(exchange)));
      ProxyHarness proxy = scope.startProxy("z", "h2c://" + origin.authority(), null);
      HttpClientAgent client = scope.client(ClientKind.H2C, proxy);
      for (int i = 0; i < CONNECTIONS; i++) {
        Exchange answer = Await.result(Exchange.get(client, "z.test", "/" + i));
        assertEquals(200, answer.status(), answer.header("muxgate-error"));
      }
      assertEquals(CONNECTIONS, origin.stats().connectionsAccepted());
      LeakReports.flush();
      // Every leak counts: with Vert.x's HTTP/2 client streams, the record names no Muxgate class.
      assertEquals(List.of(), LeakReports.sinceFirstRun("GoAwayLeakTest", log.matching("LEAK")));
    } finally {
      ResourceLeakDetector.setLevel(before);
    }
  }
}
