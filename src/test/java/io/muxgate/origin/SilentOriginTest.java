package io.muxgate.origin;

import io.muxgate.admin.AdminApi;
import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestScope;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.SelfSignedCertificate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An origin that accepts the connection (and the TLS handshake) and then says nothing: no HTTP/2 SETTINGS,
 * no answer to the h2c Upgrade. Each request gets 524 at the setup deadline, and the proxy closes the
 * socket it opened then: Vert.x keeps waiting on such a socket for as long as the pool lives, so one was
 * left open per attempt and a steady trickle of requests to a hung origin piled up file descriptors.
 */
class SilentOriginTest {

  /** How the proxy is told to speak to the silent origin. */
  enum Scheme {
    /** HTTP/2 with prior knowledge: waits for the origin's SETTINGS. */
    H2C("h2c", 1),
    /**
     * TLS, ALPN picks h2: the handshake completes, then it waits for the origin's SETTINGS. A cold JVM's
     * first handshake took 1.8 s, over a 1 s connect timeout's handshake timeout.
     */
    H2_TLS("https", 2),
    /** HTTP/1.1 with the h2c Upgrade offered on an OPTIONS request: waits for its answer. */
    H2C_UPGRADE("http", 1);

    private final String scheme;
    private final int connectTimeoutSeconds;

    Scheme(String scheme, int connectTimeoutSeconds) {
      this.scheme = scheme;
      this.connectTimeoutSeconds = connectTimeoutSeconds;
    }

    /** {@link OriginPeer#setupDeadlineMillis()}: twice the connect timeout, the read timeout here. */
    long deadlineMs() {
      return 2_000L * connectTimeoutSeconds;
    }
  }

  @RegisterExtension
  final TestScope scope = new TestScope();

  @ParameterizedTest
  @EnumSource(Scheme.class)
  void eachSocketToASilentOriginIsClosedAtItsSetupDeadline(Scheme scheme) {
    SilentOrigin origin = new SilentOrigin(scope.vertx(), scheme == Scheme.H2_TLS);
    ProxyHarness proxy = startProxy(scheme, origin);
    HttpClientAgent client = scope.client(ClientKind.HTTP1, proxy);

    List<Long> sentAtMs = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      sentAtMs.add(now());
      assertSetupTimeout(Await.result(Exchange.get(client, "silent.test", "/" + i), 15));
    }

    assertEquals(2, origin.sockets.size(), "one connection attempt per request");
    for (int i = 0; i < 2; i++) {
      assertClosedAtTheDeadline(origin.sockets.get(i), sentAtMs.get(i), scheme.deadlineMs(), "socket " + i);
    }
    assertEquals(2, abandoned(proxy, scheme, origin), "each socket closed unready is counted");
  }

  /**
   * Attempts that overlap: an unready socket cannot be told apart from those of attempts still running,
   * so it is closed once the newest attempt running when its own gave up has given up too.
   */
  @Test
  void socketsOfOverlappingAttemptsAreAllClosed() {
    SilentOrigin origin = new SilentOrigin(scope.vertx(), false);
    // One stream per connection: each request opens its own (at the default cap, an http:// origin's
    // connection is expected to carry them all until its Upgrade is answered).
    ProxyHarness proxy = startProxy(Scheme.H2C_UPGRADE, origin, 1);
    HttpClientAgent client = scope.client(ClientKind.HTTP1, proxy);

    long sentAtMs = now();
    threeRequestsAnsweredSetupTimeout(client);

    // When the first attempt gives up, the pool sometimes opens one more for the requests still queued.
    int sockets = origin.sockets.size();
    assertTrue(sockets == 3 || sockets == 4, sockets + " connection attempts for 3 requests");
    for (int i = 0; i < sockets; i++) {
      assertClosedAtTheDeadline(origin.sockets.get(i), sentAtMs, Scheme.H2C_UPGRADE.deadlineMs(), "socket " + i);
    }
    assertEquals(sockets, abandoned(proxy, Scheme.H2C_UPGRADE, origin));
  }

  /**
   * A read timeout shorter than the connect timeout: the setup deadline, twice the connect timeout, then
   * comes after the queued requests' own bound, connect + read timeout. They wait for it and get the
   * silent origin's 524, not a 503 {@code origin_queue_timeout} at their bound, which said the origin was
   * busy when it was not answering at all.
   */
  @ParameterizedTest
  @EnumSource(Scheme.class)
  void aReadTimeoutShorterThanTheConnectTimeoutStillGives524AtTheSetupDeadline(Scheme scheme) {
    SilentOrigin origin = new SilentOrigin(scope.vertx(), scheme == Scheme.H2_TLS);
    int connectTimeoutSeconds = 2;
    ProxyHarness proxy = startProxy(scheme, origin, new JsonObject()
      .put("proxy_connect_timeout", connectTimeoutSeconds).put("proxy_read_timeout", 1));
    HttpClientAgent client = scope.client(ClientKind.HTTP1, proxy);

    long sentAtMs = now();
    threeRequestsAnsweredSetupTimeout(client);

    long deadlineMs = 2_000L * connectTimeoutSeconds;
    long answeredAfterMs = now() - sentAtMs;
    assertTrue(answeredAfterMs >= deadlineMs - 100, "answered after " + answeredAfterMs + " ms");
    assertEquals(1, origin.sockets.size(), "one connection attempt for the three requests");
  }

  private ProxyHarness startProxy(Scheme scheme, SilentOrigin origin) {
    return startProxy(scheme, origin, 100);
  }

  private ProxyHarness startProxy(Scheme scheme, SilentOrigin origin, int maxStreams) {
    return startProxy(scheme, origin, new JsonObject().put("proxy_connect_timeout", scheme.connectTimeoutSeconds)
      .put("proxy_read_timeout", 2 * scheme.connectTimeoutSeconds).put("origin_h2_max_streams", maxStreams));
  }

  private ProxyHarness startProxy(Scheme scheme, SilentOrigin origin, JsonObject zoneSettings) {
    scope.track(origin::close);
    JsonObject settings = zoneSettings.copy().put("origin_max_http_version", "2");
    JsonObject zone = ProxyHarness.zone("silent", "silent.test", List.of(url(scheme, origin)), settings)
      .put("origin_tls_verify", false);
    return scope.startProxy(Map.of("silent.json", zone));
  }

  private static String url(Scheme scheme, SilentOrigin origin) {
    return scheme.scheme + "://127.0.0.1:" + origin.port();
  }

  /** Three requests at once, each answered 524 {@code setup_timeout}. */
  private static void threeRequestsAnsweredSetupTimeout(HttpClientAgent client) {
    List<Future<Exchange>> answers = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      answers.add(Exchange.get(client, "silent.test", "/" + i));
    }
    answers.forEach(answer -> assertSetupTimeout(Await.result(answer, 15)));
  }

  private static void assertSetupTimeout(Exchange answer) {
    assertEquals(524, answer.status(), answer.body());
    assertEquals("setup_timeout", answer.header("muxgate-error"));
  }

  /**
   * The socket closes from the proxy's side once the setup deadline of the attempt that opened it is
   * over, and not before. That attempt began after its request was sent and before the socket was accepted
   * (over TLS, before its handshake ended). Left to Vert.x it would stay open as long as the pool: the wait
   * for the close is bounded at 10 x the deadline, not timed.
   */
  private static void assertClosedAtTheDeadline(Socket socket, long sentAtMs, long deadlineMs, String which) {
    long closedAtMs;
    try {
      closedAtMs = socket.closedAtMs.get(Math.max(0, socket.acceptedAtMs + 10 * deadlineMs - now()),
        TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new AssertionError(which + " still open " + (now() - socket.acceptedAtMs) + " ms after it was "
        + "accepted: the proxy left it to Vert.x's connect, which waits for as long as the socket is open", e);
    } catch (InterruptedException | ExecutionException e) {
      throw new AssertionError(e);
    }
    assertTrue(closedAtMs - sentAtMs >= deadlineMs - 100, which + " closed " + (closedAtMs - sentAtMs)
      + " ms after its request was sent, before the setup deadline of " + deadlineMs + " ms");
  }

  private double abandoned(ProxyHarness proxy, Scheme scheme, SilentOrigin origin) {
    return new AdminApi(scope.vertx(), proxy.adminPort()).metric("muxgate_origin_connections_abandoned_total",
      "origin=\"" + url(scheme, origin) + "\",zone=\"silent\"");
  }

  private static long now() {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime());
  }

  /** One accepted connection: when (over TLS: when its handshake ended), and when its peer closed it. */
  private record Socket(long acceptedAtMs, CompletableFuture<Long> closedAtMs) {
  }

  /**
   * Accepts connections, reads and drops what they send, and never writes a byte (over TLS, nothing after
   * the handshake, where ALPN picks h2). It closes none of them itself.
   */
  private static final class SilentOrigin {

    private final NetServer server;
    final List<Socket> sockets = new CopyOnWriteArrayList<>();

    SilentOrigin(Vertx vertx, boolean tls) {
      NetServerOptions options = new NetServerOptions().setHost("127.0.0.1").setPort(0);
      if (tls) {
        options.setSsl(true).setUseAlpn(true)
          .setKeyCertOptions(SelfSignedCertificate.create("localhost").keyCertOptions())
          .getSslOptions().setApplicationLayerProtocols(List.of("h2"));
      }
      server = Await.result(vertx.createNetServer(options).connectHandler(so -> {
        Socket socket = new Socket(now(), new CompletableFuture<>());
        sockets.add(socket);
        so.handler(bytes -> {
        });
        so.exceptionHandler(e -> {
        });
        so.closeHandler(v -> socket.closedAtMs.complete(now()));
      }).listen());
    }

    int port() {
      return server.actualPort();
    }

    void close() {
      Await.result(server.close(), 10);
    }
  }
}
