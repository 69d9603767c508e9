package io.muxgate.origin;

import io.muxgate.support.Await;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.muxgate.forward.OriginSet;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.net.NetServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Least-outstanding balancing meets the origins that look least loaded for the wrong reason: one whose
 * certificate fails verification (each request fails at once, so it never has a stream in flight) and
 * one whose requests wait in its queue rather than on a stream (at its connection cap, or connecting).
 */
class OriginChoiceUnderFailureTest {

  @RegisterExtension
  final TestScope scope = new TestScope();

  /** An expired or wrong certificate on one origin: taken out and failed over, as a refused one is. */
  @Test
  void anOriginWhoseCertificateFailsIsTakenOutAndItsRequestsGoElsewhere() {
    TestOrigin badCert = scope.startOrigin(TestOrigin.Mode.TLS_H2);   // self-signed: 526 with verification on
    TestOrigin good = scope.startOrigin(TestOrigin.Mode.H2C);
    ProxyHarness proxy = scope.startProxy(Map.of("z.json", zone("z", "z.test",
      List.of(badCert.url(), good.url()), null)));
    HttpClientAgent client = proxy.h2cClient();

    for (int i = 0; i < 40; i++) {
      assertEquals(200, Await.result(Exchange.get(client, "z.test", "/" + i)).status(), "request " + i);
    }
    assertEquals(40, good.requests());
    assertEquals(0, badCert.requests());
  }

  /** An origin that closes every new connection at once is taken out too, not sent a connection per request. */
  @Test
  void anOriginThatDropsEveryNewConnectionIsTakenOut() {
    AtomicInteger dropped = new AtomicInteger();
    NetServer closer = Await.result(scope.vertx().createNetServer()
      .connectHandler(socket -> {
        dropped.incrementAndGet();
        socket.close();
      })
      .listen(0, "127.0.0.1"));
    TestOrigin good = scope.startOrigin(TestOrigin.Mode.H2C);
    ProxyHarness proxy = scope.startProxy(Map.of("z.json", zone("z", "z.test",
      List.of("h2c://127.0.0.1:" + closer.actualPort(), good.url()), null)));
    HttpClientAgent client = proxy.h2cClient();

    for (int i = 0; i < 40; i++) {
      assertEquals(200, Await.result(Exchange.get(client, "z.test", "/" + i)).status(), "request " + i);
    }
    assertTrue(dropped.get() <= 3, "connections to the origin that drops them: " + dropped.get());
  }

  /** Requests queued for a stream count as an origin's load, not only its streams in flight. */
  @Test
  void requestsQueuedAtAnOriginCountAsItsLoad() throws IOException {
    // A port that completes the TCP handshake (the kernel's backlog) and then says nothing: the pool's
    // first connection stays in its set-up, and requests wait in its queue with no stream in flight.
    try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      OriginPool busy = OriginHealthTest.pool(scope.vertx(), silent.getLocalPort());
      OriginPool idle = OriginHealthTest.pool(scope.vertx(), silent.getLocalPort());
      ContextInternal context = (ContextInternal) scope.vertx().getOrCreateContext();
      for (int i = 0; i < 3; i++) {
        busy.acquire(context);
      }
      assertEquals(3, busy.load());
      assertEquals(0, busy.activeStreams(), "none has a stream yet");

      OriginSet set = new OriginSet(List.of(busy, idle));
      for (int i = 0; i < 50; i++) {
        assertSame(idle, set.pick(null), "pick " + i);
      }
    }
  }
}
