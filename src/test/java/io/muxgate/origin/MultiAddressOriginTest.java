package io.muxgate.origin;

import io.muxgate.admin.AdminApi;
import io.muxgate.support.Await;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.testing.FullAcceptQueuePort;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.IOException;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An origin named by a DNS name with several A records (served by a loopback DNS stub): connections try
 * the addresses in turn, spread over them, and keep the name for TLS. Every 127.x.y.z is loopback, so an
 * origin on 127.0.0.1 leaves the same port on 127.0.0.2 refusing, and a second origin can take it on
 * 127.0.0.3.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MultiAddressOriginTest {

  /** How long slow-blackhole.test takes to resolve: past the setup deadline less the connect timeout. */
  private static final long SLOW_LOOKUP_MILLIS = 1_500;

  private LoopbackDnsStub dns;
  private Vertx vertx;
  private HttpServer live1;
  private HttpServer live3;
  private HttpServer behindBlackhole;
  private FullAcceptQueuePort blackhole;
  /** The one port of three-blackholes.test, blackholed on each of its addresses. */
  private final List<FullAcceptQueuePort> blackholes = new ArrayList<>();
  private NetServer silent1;
  private NetServer silent3;
  /** Sockets accepted by the silent origins, and those of them the proxy closed. */
  private final AtomicInteger silentAccepted = new AtomicInteger();
  private final AtomicInteger silentClosed = new AtomicInteger();
  private NamedTlsOrigin namedTls;
  private ProxyHarness proxy;
  private HttpClientAgent client;
  /** Per request to the h2c origins: its Host, and the origin address its connection came to. */
  private final List<String[]> served = new CopyOnWriteArrayList<>();
  private final List<HttpServerRequest> parked = new CopyOnWriteArrayList<>();

  @BeforeAll
  void start() throws IOException {
    dns = new LoopbackDnsStub(Map.of(
      "dead-first.test", List.of("127.0.0.2", "127.0.0.1"),
      "two-live.test", List.of("127.0.0.1", "127.0.0.3"),
      "all-dead.test", List.of("127.0.0.2", "127.0.0.4"),
      "origin.test", List.of("127.0.0.2", "127.0.0.1"),
      "blackhole.test", List.of("127.0.0.1", "127.0.0.3"),
      "silent.test", List.of("127.0.0.1", "127.0.0.3"),
      "blackhole-or-refused.test", List.of("127.0.0.1", "127.0.0.2"),
      "three-blackholes.test", List.of("127.0.0.1", "127.0.0.3", "127.0.0.4"),
      "slow-blackhole.test", List.of("127.0.0.1")), Map.of("slow-blackhole.test", SLOW_LOOKUP_MILLIS));
    vertx = dns.vertx(2 * SLOW_LOOKUP_MILLIS);
    live1 = h2cOrigin("127.0.0.1", 0);
    int port = live1.actualPort();
    live3 = h2cOrigin("127.0.0.3", port);
    blackhole = FullAcceptQueuePort.open();
    behindBlackhole = h2cOrigin("127.0.0.3", blackhole.port());
    blackholes.add(FullAcceptQueuePort.open());
    for (String ip : List.of("127.0.0.3", "127.0.0.4")) {
      blackholes.add(FullAcceptQueuePort.open(InetAddress.getByName(ip), blackholes.get(0).port()));
    }
    silent1 = silentOrigin("127.0.0.1", 0);
    silent3 = silentOrigin("127.0.0.3", silent1.actualPort());
    namedTls = new NamedTlsOrigin(vertx, "origin.test");
    Map<String, JsonObject> zones = new HashMap<>();
    zones.put("dead-first.json", zone("dead-first", "dead-first.example",
      List.of("h2c://dead-first.test:" + port), null));
    zones.put("spread.json", zone("spread", "spread.example", List.of("h2c://two-live.test:" + port),
      new JsonObject().put("origin_h2_max_streams", 1)));
    zones.put("all-dead.json", zone("all-dead", "all-dead.example", List.of("h2c://all-dead.test:" + port), null));
    zones.put("tls.json", zone("tls", "tls.example", List.of("https://origin.test:" + namedTls.port()), null)
      .put("origin_ca_file", namedTls.certificateFile().toString()));
    // The longest connect timeout, so that the answer's await tells the attempt delay from it.
    zones.put("blackhole.json", zone("blackhole", "blackhole.example",
      List.of("h2c://blackhole.test:" + blackhole.port()), new JsonObject().put("proxy_connect_timeout", 60)));
    zones.put("blackhole-or-refused.json", zone("blackhole-or-refused", "blackhole-or-refused.example",
      List.of("h2c://blackhole-or-refused.test:" + blackhole.port()), new JsonObject().put("proxy_connect_timeout", 1)));
    // Connect 2 s and read 1 s: the third address's connect, begun after two attempt delays of 2/3 s, times
    // out at 3.3 s, after a queued request's own bound of connect + read timeout.
    zones.put("three-blackholes.json", zone("three-blackholes", "three-blackholes.example",
      List.of("h2c://three-blackholes.test:" + blackholes.get(0).port()),
      new JsonObject().put("proxy_connect_timeout", 2).put("proxy_read_timeout", 1)));
    // Connect 1 s, read 1 s: a setup deadline of 2 s, and a connect begun after the name's 1 s lookup that
    // would time out only after it.
    zones.put("slow-blackhole.json", zone("slow-blackhole", "slow-blackhole.example",
      List.of("h2c://slow-blackhole.test:" + blackholes.get(0).port()),
      new JsonObject().put("proxy_connect_timeout", 1).put("proxy_read_timeout", 1)));
    zones.put("silent.json", zone("silent", "silent.example", List.of(silentUrl()),
      new JsonObject().put("proxy_connect_timeout", 1).put("proxy_read_timeout", 2)));
    proxy = ProxyHarness.start(vertx, zones);
    client = proxy.h2cClient();
  }

  /** An h2c origin on {@code ip}, recording each request's Host and the address it came to. */
  private HttpServer h2cOrigin(String ip, int port) {
    return vertx.createHttpServer(new HttpServerOptions().setHost(ip).setPort(port))
      .requestHandler(request -> {
        served.add(new String[] {String.valueOf(request.authority()), request.connection().localAddress().host()});
        if (request.path().equals("/park")) {
          parked.add(request);
        } else {
          request.response().end("ok");
        }
      })
      .listen().await();
  }

  /** Accepts connections and never writes a byte: no SETTINGS, the connection is never ready. */
  private NetServer silentOrigin(String ip, int port) {
    return vertx.createNetServer().connectHandler(socket -> {
      silentAccepted.incrementAndGet();
      socket.handler(bytes -> { });
      socket.closeHandler(v -> silentClosed.incrementAndGet());
    }).listen(port, ip).await();
  }

  private String silentUrl() {
    return "h2c://silent.test:" + silent1.actualPort();
  }

  @AfterAll
  void stop() throws IOException {
    if (client != null) {
      Await.result(client.close(), 5);
    }
    if (proxy != null) {
      proxy.close();
    }
    if (namedTls != null) {
      namedTls.close();
    }
    if (blackhole != null) {
      blackhole.close();
    }
    for (FullAcceptQueuePort port : blackholes) {
      port.close();
    }
    Await.result(vertx.close(), 10);
    if (dns != null) {
      dns.close();
    }
  }

  @Test
  void aDeadFirstAddressFallsThroughToTheLiveOne() {
    Exchange exchange = get("dead-first.example", "/");
    assertEquals(200, exchange.status(), exchange.body() + " / " + exchange.header("muxgate-error"));
    assertEquals("ok", exchange.body());
  }

  @Test
  void connectionsSpreadOverTheAddresses() {
    List<Future<Exchange>> answers = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      answers.add(Exchange.get(client, "spread.example", "/park"));
    }
    Await.until(() -> parked.size() == 4, "4 requests parked at the origins");
    // One stream per connection: four connections, opened from a start that moves one on each time.
    Map<String, Long> byAddress = served.stream().filter(r -> r[0].startsWith("spread.example"))
      .collect(Collectors.groupingBy(r -> r[1], Collectors.counting()));
    assertEquals(Map.of("127.0.0.1", 2L, "127.0.0.3", 2L), byAddress);
    parked.forEach(request -> request.response().end("ok"));
    for (Future<Exchange> answer : answers) {
      assertEquals(200, Await.result(answer, 10).status());
    }
  }

  @Test
  void allAddressesRefusingGives521() {
    Exchange exchange = get("all-dead.example", "/");
    assertEquals(521, exchange.status(), exchange.body());
    assertEquals("connection_refused", exchange.header("muxgate-error"));
  }

  @Test
  void tlsKeepsTheNameForSniAndVerificationWhateverTheAddress() {
    Exchange exchange = get("tls.example", "/");
    assertEquals(200, exchange.status(), exchange.body() + " / " + exchange.header("muxgate-error"));
    assertEquals("secure", exchange.body());
    namedTls.assertOnlyNameSeen("tls.example");
  }

  /**
   * The blackholed address costs the attempt delay (2 s, RFC 8305's longest), not the whole 60 s connect
   * timeout: the answer's 15 s await tells them apart, with no timing of its own.
   */
  @Test
  void aBlackholedAddressDelaysTheNextOneOnlyByTheAttemptDelay() {
    long start = System.nanoTime();
    Exchange exchange = get("blackhole.example", "/");
    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    assertEquals(200, exchange.status(), exchange.body() + " / " + exchange.header("muxgate-error"));
    // Measured from before the request: a busy machine only lengthens it.
    assertTrue(ms >= AddressAttempts.MAX_ATTEMPT_DELAY_MILLIS - 100, "answered after " + ms + " ms, "
      + "before the blackholed address's attempt delay: it was not tried first");
    Map<String, Long> byAddress = served.stream().filter(r -> r[0].startsWith("blackhole.example"))
      .collect(Collectors.groupingBy(r -> r[1], Collectors.counting()));
    assertEquals(Map.of("127.0.0.3", 1L), byAddress);
  }

  /** One address times out, the other refuses: the refusal, which says more, is the answer. */
  @Test
  void whenEveryAddressFailsTheMostTellingFailureIsTheStatus() {
    Exchange exchange = get("blackhole-or-refused.example", "/");
    assertEquals(521, exchange.status(), exchange.body());
    assertEquals("connection_refused", exchange.header("muxgate-error"));
  }

  /**
   * Every address blackholed, with a read timeout shorter than the connect timeout: the request, waiting for
   * the connection being opened rather than behind full ones, gets its 522 when the last address's connect
   * times out, after the request's own bound, which answered 503 {@code origin_queue_timeout} as for a busy
   * origin.
   */
  @Test
  void everyAddressBlackholedGives522AlsoWhenTheLastConnectEndsPastTheQueueBound() {
    Exchange exchange = get("three-blackholes.example", "/");
    assertEquals(522, exchange.status(), exchange.body());
    assertEquals("connect_timeout", exchange.header("muxgate-error"));
  }

  /**
   * The name resolves 1.5 s in, so the connect to the blackholed address begins late and the setup deadline
   * (2 s) comes before its connect timeout: no TCP connection was made, which is a 522, not the 524 of an
   * origin that took the connection and did not answer.
   */
  @Test
  void aConnectStillUnansweredAtTheSetupDeadlineGives522() {
    Exchange exchange = get("slow-blackhole.example", "/");
    assertEquals(522, exchange.status(), exchange.body());
    assertEquals("connect_timeout", exchange.header("muxgate-error"));
  }

  /**
   * Both addresses accept and say nothing: the second starts beside the first after the attempt delay, and
   * at the setup deadline (twice the 1 s connect timeout, the read timeout) both sockets are closed and
   * counted as abandoned.
   */
  @Test
  void socketsToEveryAddressOfASilentOriginAreClosedAtTheDeadline() {
    Exchange exchange = get("silent.example", "/");
    assertEquals(524, exchange.status(), exchange.body());
    assertEquals("setup_timeout", exchange.header("muxgate-error"));
    assertEquals(2, silentAccepted.get(), "a socket to each address");
    Await.until(() -> silentClosed.get() == 2, 3_000, "both sockets closed by the proxy");
    assertEquals(2.0, new AdminApi(vertx, proxy.adminPort()).metric("muxgate_origin_connections_abandoned_total",
      "origin=\"" + silentUrl() + "\",zone=\"silent\""));
  }

  private Exchange get(String host, String path) {
    return Await.result(Exchange.get(client, host, path), 15);
  }
}
