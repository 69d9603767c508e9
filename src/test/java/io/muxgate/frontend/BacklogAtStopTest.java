package io.muxgate.frontend;

import io.muxgate.support.Await;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TcpTable;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.SingleThreadEventExecutor;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Connections the kernel had accepted for the proxy, their requests sent, still in its listener's accept
 * queue as a graceful stop begins: the stop takes and serves them (with {@code connection: close}), where
 * a listener closed with them queued has the kernel reset every one.
 *
 * <p>The queue is filled by connecting while Vert.x's acceptor thread, which accepts for every listener,
 * runs a task the test holds; the stop begins while it is held, and the test lets it go once the stop's
 * work for that thread waits behind the held task.
 */
class BacklogAtStopTest {

  private static final int QUEUED = 16;

  @RegisterExtension
  final TestScope scope = new TestScope();

  @ParameterizedTest(name = "native transport: {0}")
  @ValueSource(booleans = {false, true})
  void requestsInTheListenersQueueWhenTheStopBeginsAreServedNotReset(boolean nativeTransport) throws Exception {
    Vertx own = Vertx.vertx(new VertxOptions().setPreferNativeTransport(nativeTransport));
    scope.track(() -> own.close().await(10, TimeUnit.SECONDS));
    assumeTrue(own.isNativeTransportEnabled() == nativeTransport, "native epoll transport not available here");
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C);
    // drain_timeout_s that no test waits out
    ProxyHarness proxy = ProxyHarness.start(own, Map.of("z.json", zone("z", "z.test", List.of(origin.url()), null)),
      new JsonObject().put("drain_timeout_s", 60));
    scope.track(() -> ProxyHarness.deleteTree(proxy.confDir()));
    int port = proxy.httpPort();

    List<Socket> clients = new ArrayList<>();
    Future<Void> stopped;
    CountDownLatch release = new CountDownLatch(1);
    try {
      SingleThreadEventExecutor acceptor = holdAcceptor(own, release);
      for (int i = 0; i < QUEUED; i++) {
        Socket client = new Socket("127.0.0.1", port);
        clients.add(client);
        client.setSoTimeout(10_000);
        client.getOutputStream().write(("GET /queued-" + i + " HTTP/1.1\r\nhost: z.test\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      }
      Await.until(() -> TcpTable.acceptQueue(port) == QUEUED, "every connection waiting in the listener's queue");

      stopped = proxy.app().shutdown();
      Await.until(() -> acceptor.pendingTasks() > 0, "the stop's work for the acceptor to wait behind the test's task");
      // what the stop has the event loops do before that, done (the listener's close handed on from one)
      runOnEveryLoop(own);
      runOnEveryLoop(own);
    } finally {
      release.countDown();
    }

    List<String> outcomes = new ArrayList<>();
    try {
      for (Socket client : clients) {
        outcomes.add(outcome(client));
      }
    } finally {
      for (Socket client : clients) {
        client.close();
      }
    }
    assertEquals(Collections.nCopies(QUEUED, "200 close"), outcomes);
    Await.result(stopped, 15);
    for (int i = 0; i < QUEUED; i++) {
      String path = "/queued-" + i;
      Await.until(() -> proxy.lastRecord(path) != null, 5_000, "the log line of " + path);
      assertEquals(200, proxy.lastRecord(path).status());
    }
  }

  /** "200 close" for a 200 that says the connection closes; else what the client got instead. */
  private static String outcome(Socket client) {
    try {
      String response = new String(client.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
      if (response.isEmpty()) {
        return "closed unanswered";
      }
      String status = response.length() < 12 ? response : response.substring(9, 12);
      return response.toLowerCase().contains("\r\nconnection: close\r\n") ? status + " close" : status;
    } catch (IOException e) {
      return e.toString();
    }
  }

  /** Holds Vert.x's acceptor thread, the one event loop of its acceptor group, until {@code release}. */
  private static SingleThreadEventExecutor holdAcceptor(Vertx vertx, CountDownLatch release) throws InterruptedException {
    List<EventExecutor> acceptors = new ArrayList<>();
    ((VertxInternal) vertx).acceptorEventLoopGroup().forEach(acceptors::add);
    assertEquals(1, acceptors.size(), "Vert.x accepts on one thread");
    CountDownLatch held = new CountDownLatch(1);
    acceptors.get(0).execute(() -> {
      held.countDown();
      Await.until(() -> release.getCount() == 0, "the test to release the acceptor");
    });
    assertTrue(held.await(10, TimeUnit.SECONDS), "the acceptor ran the test's task");
    return (SingleThreadEventExecutor) acceptors.get(0);
  }

  /** Runs a task on each of the proxy's event loops and waits until each has run it. */
  private static void runOnEveryLoop(Vertx vertx) throws InterruptedException {
    EventLoopGroup loops = ((VertxInternal) vertx).nettyEventLoopGroup();
    List<EventExecutor> executors = new ArrayList<>();
    loops.forEach(executors::add);
    CountDownLatch ran = new CountDownLatch(executors.size());
    for (EventExecutor loop : executors) {
      loop.execute(ran::countDown);
    }
    assertTrue(ran.await(10, TimeUnit.SECONDS), "every event loop ran the task");
  }
}
