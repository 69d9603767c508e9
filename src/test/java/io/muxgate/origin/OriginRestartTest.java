package io.muxgate.origin;

import io.muxgate.support.Await;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An origin restarts the way a deploy restarts it: graceful shutdown (GOAWAY, in-flight requests
 * finish, close), nothing listening for a second, then back on the same port. Under 200 concurrent
 * clients the only failures are 521s for requests that met the empty port; everything in flight at
 * the GOAWAY, or sent into it, is answered.
 */
class OriginRestartTest {

  private static final int CLIENTS = 200;
  /**
   * Bounds each wait for 2,000 answers: it only catches a wedge. On a loaded 2-core machine a fresh JVM was
   * seen answering the 200 clients about 45 requests a second (3 s each, all 200), past the default 20 s.
   */
  private static final long TRAFFIC_WAIT_MS = 120_000;

  /** One request as a client saw it. */
  private record Outcome(long startNanos, long endNanos, int status, String error) {
  }

  private Vertx vertx;
  private ProxyHarness proxy;
  /** A field, so the client stays reachable: Vert.x closes a client it finds unreachable. */
  private HttpClientAgent client;
  private GracefulH2cOrigin origin;

  @AfterEach
  void tearDown() {
    if (client != null) {
      Await.result(client.close(), 5);
    }
    if (proxy != null) {
      proxy.close();
    }
    if (origin != null) {
      origin.close();
    }
    Await.result(vertx.close(), 10);
  }

  @Test
  void restartUnderLoadFailsOnlyRequestsThatMetTheEmptyPortWith521() {
    vertx = Vertx.vertx();
    origin = new GracefulH2cOrigin(0);
    int port = origin.port();
    proxy = ProxyHarness.start(vertx, Map.of("z.json", zone("z", "z.test", List.of("h2c://127.0.0.1:" + port), null)));
    client = proxy.h2cClient();
    ConcurrentLinkedQueue<Outcome> outcomes = new ConcurrentLinkedQueue<>();
    AtomicBoolean running = new AtomicBoolean(true);
    List<Future<Void>> clients = new ArrayList<>();
    for (int i = 0; i < CLIENTS; i++) {
      clients.add(loop(client, running, outcomes));
    }

    Await.until(() -> outcomes.size() >= 2_000, TRAFFIC_WAIT_MS, "traffic through the running origin");
    long downAt = System.nanoTime();
    origin.stopGracefully(); // stop listening; GOAWAY, accepted streams finish, close
    origin.close();
    Await.result(timer(1_000 - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - downAt)));
    origin = new GracefulH2cOrigin(port);
    long upAt = System.nanoTime();
    int beforeUp = outcomes.size();
    Await.until(() -> outcomes.size() >= beforeUp + 2_000, TRAFFIC_WAIT_MS, "traffic through the restarted origin");
    running.set(false);
    Await.result(Future.all(clients), 20);

    Map<Integer, Long> byStatus = outcomes.stream().collect(Collectors.groupingBy(Outcome::status,
      Collectors.counting()));
    // A request that arrives while a connect begun before the restart is still pending shares that connect's
    // refusal (README: requests waiting for a connection being opened get its failure): on a loaded machine
    // the refusal is handled well after the port is back. Once a request started after the restart has
    // been answered, the pool holds a connection to the new origin, and no later request may get a 521.
    long servedAgain = outcomes.stream().filter(o -> o.status() == 200 && o.startNanos() > upAt)
      .mapToLong(Outcome::endNanos).min().orElse(Long.MAX_VALUE);
    List<Outcome> unexpected = outcomes.stream()
      .filter(o -> !(o.status() == 200 || (o.status() == 521 && o.startNanos() < servedAgain && o.endNanos() > downAt)))
      .toList();
    assertTrue(unexpected.isEmpty(),
      "statuses " + byStatus + ", unexpected outcomes " + unexpected.stream().limit(5).toList());
    assertTrue(byStatus.getOrDefault(521, 0L) > 0, "some requests met the empty port: " + byStatus);
    assertEquals(200, Await.result(Exchange.get(client, "z.test", "/after")).status());
  }

  @Test
  void connectionTheStoppingOriginNeverServedIsRetriedAndMeetsTheEmptyPortWith521() throws IOException {
    vertx = Vertx.vertx();
    // The kernel completes the proxy's connect, then the origin stops listening and drops the connection
    // before its first SETTINGS: no request went out on it.
    ServerSocket stopping = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
    CompletableFuture<Void> stopped = CompletableFuture.runAsync(() -> {
      try {
        Socket accepted = stopping.accept();
        stopping.close();
        accepted.close();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
    proxy = ProxyHarness.start(vertx, Map.of("z.json",
      zone("z", "z.test", List.of("h2c://127.0.0.1:" + stopping.getLocalPort()), null)));
    client = proxy.h2cClient();

    Exchange exchange = Await.result(Exchange.get(client, "z.test", "/"));

    stopped.join();
    assertEquals(521, exchange.status(), exchange.header("muxgate-error"));
    assertEquals("connection_refused", exchange.header("muxgate-error"));
  }

  /** One client: requests one after another until stopped, pausing briefly after an error as clients do. */
  private Future<Void> loop(HttpClientAgent client, AtomicBoolean running, ConcurrentLinkedQueue<Outcome> outcomes) {
    if (!running.get()) {
      return Future.succeededFuture();
    }
    long start = System.nanoTime();
    return Exchange.get(client, "z.test", "/")
      .transform(ar -> {
        Outcome outcome = ar.succeeded()
          ? new Outcome(start, System.nanoTime(), ar.result().status(), ar.result().header("muxgate-error"))
          : new Outcome(start, System.nanoTime(), -1, String.valueOf(ar.cause()));
        outcomes.add(outcome);
        return outcome.status() == 200 ? Future.<Void>succeededFuture() : timer(20);
      })
      .compose(v -> loop(client, running, outcomes));
  }

  private Future<Void> timer(long millis) {
    Promise<Void> fired = Promise.promise();
    vertx.setTimer(Math.max(1, millis), id -> fired.complete());
    return fired.future();
  }
}
