package io.muxgate.origin;

import io.muxgate.admin.AdminApi;
import io.muxgate.support.Await;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.RefusedPort;
import io.muxgate.testing.FaultActions;
import io.muxgate.testing.FaultOrigin;
import io.muxgate.testing.FullAcceptQueuePort;
import io.muxgate.testing.ListenMode;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.StreamResetException;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.HostAndPort;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every way an origin can fail becomes its documented status, body {@code error code: NNN} and
 * {@code muxgate-error} reason, each produced by a real misbehaving or missing origin on loopback.
 * Timeouts are 1 s (2 s where two compete), and no timed failure arrives before its timeout. The 15 s await of
 * each answer is its only upper bound, shorter than any other timeout of its zone that could end the request.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OriginErrorMappingTest {

  private static final long TIMEOUT_MS = 1_000;

  private LoopbackDnsStub dns;
  private Vertx vertx;
  private FaultOrigin faults;
  private FaultOrigin silentTls;
  private FaultOrigin garbageTls;
  private FullAcceptQueuePort fullQueue;
  private NamedTlsOrigin namedTls;
  private ProxyHarness proxy;
  private HttpClientAgent client;

  @BeforeAll
  void start() throws IOException {
    dns = new LoopbackDnsStub();
    vertx = dns.vertx();
    faults = FaultOrigin.start(request -> switch (request.path()) {
      case "/reset" -> FaultActions.reset(FaultActions.INTERNAL_ERROR);
      case "/close" -> FaultActions.closeConnection();
      case "/bad-header" -> FaultActions.invalidResponseHeader();
      case "/protocol-error" -> FaultActions.dataFrameOnStreamZero();
      case "/never" -> FaultActions.neverAnswer();
      case "/stall" -> FaultActions.headersThenStall(200);
      default -> FaultActions.ok("ok");
    });
    silentTls = FaultOrigin.builder().mode(ListenMode.ACCEPT_AND_STAY_SILENT).start();
    garbageTls = FaultOrigin.builder().mode(ListenMode.TLS_HANDSHAKE_GARBAGE).start();
    fullQueue = FullAcceptQueuePort.open();
    namedTls = new NamedTlsOrigin(vertx, "origin.test");
    JsonObject oneSecond = new JsonObject().put("proxy_connect_timeout", 1).put("proxy_read_timeout", 1);
    String h2c = "h2c://" + faults.authority();
    Map<String, JsonObject> zones = new HashMap<>();
    // One zone per fault, so each starts on fresh connections of its own pool.
    for (String fault : List.of("reset", "close", "bad-header", "protocol-error", "never", "stall")) {
      zones.put(fault + ".json", zone(fault, fault + ".test", List.of(h2c), oneSecond.copy()));
    }
    zones.put("refused.json", zone("refused", "refused.test", List.of("h2c://127.0.0.1:" + RefusedPort.pick()), null));
    // The connect timeouts must win over a longer read timeout: longer than the answer's await, too.
    JsonObject connectOneSecond = new JsonObject().put("proxy_connect_timeout", 1).put("proxy_read_timeout", 30);
    zones.put("timeout.json", zone("timeout", "timeout.test",
      List.of("h2c://127.0.0.1:" + fullQueue.port()), connectOneSecond.copy()));
    // A read timeout shorter than the connect timeout must not cut the connect short.
    zones.put("timeout-read-first.json", zone("timeout-read-first", "timeout-read-first.test",
      List.of("h2c://127.0.0.1:" + fullQueue.port()),
      new JsonObject().put("proxy_connect_timeout", 2).put("proxy_read_timeout", 1)));
    zones.put("nxdomain.json", zone("nxdomain", "nxdomain.test", List.of("h2c://no-such-origin.invalid:8080"), null));
    zones.put("nxdomain-burst.json", zone("nxdomain-burst", "nxdomain-burst.test",
      List.of("h2c://burst-origin.invalid:8080"), null));
    zones.put("tls-silent.json", zone("tls-silent", "tls-silent.test",
      List.of("https://" + silentTls.authority()), connectOneSecond.copy()).put("origin_tls_verify", false));
    zones.put("tls-garbage.json", zone("tls-garbage", "tls-garbage.test",
      List.of("https://" + garbageTls.authority()), oneSecond.copy()).put("origin_tls_verify", false));
    zones.put("untrusted.json", zone("untrusted", "untrusted.test", List.of(namedTls.url()), null)
      .put("origin_sni", "origin.test"));
    zones.put("wrong-name.json", zone("wrong-name", "wrong-name.test", List.of(namedTls.url()), null)
      .put("origin_sni", "wrong.test").put("origin_ca_file", namedTls.certificateFile().toString()));
    zones.put("trusted.json", zone("trusted", "trusted.test", List.of(namedTls.url()), null)
      .put("origin_sni", "origin.test").put("origin_ca_file", namedTls.certificateFile().toString()));
    proxy = ProxyHarness.start(vertx, zones);
    client = proxy.h2cClient();
  }

  @AfterAll
  void stop() throws IOException {
    Await.result(client.close(), 5);
    proxy.close();
    namedTls.close();
    fullQueue.close();
    garbageTls.close();
    silentTls.close();
    faults.close();
    Await.result(vertx.close(), 10);
    dns.close();
  }

  @ParameterizedTest(name = "{0} -> 520 {1}")
  @CsvSource({
    "reset, origin_reset",
    "close, origin_closed",
    "bad-header, invalid_response",
    "protocol-error, invalid_response"})
  void originThatBreaksTheStreamGives520(String fault, String reason) {
    assertError(520, reason, get(fault + ".test", "/" + fault));
  }

  /** A connection-level protocol error from the origin: the proxy says GOAWAY(PROTOCOL_ERROR), then closes. */
  @Test
  void originProtocolErrorGetsAGoawayBeforeTheClose() {
    assertError(520, "invalid_response", get("protocol-error.test", "/protocol-error"));
    faults.stats().await("a GOAWAY with PROTOCOL_ERROR from the proxy",
      s -> s.goAwaysReceived().contains(FaultActions.PROTOCOL_ERROR), Duration.ofSeconds(5));
  }

  @Test
  void refusedConnectionGives521() {
    assertError(521, "connection_refused", get("refused.test", "/"));
  }

  @Test
  void fullAcceptQueueGives522WithinTheConnectTimeout() {
    long start = System.nanoTime();
    assertError(522, "connect_timeout", get("timeout.test", "/"));
    assertNotBeforeTimeout(start);
  }

  @Test
  void fullAcceptQueueGives522AfterTheConnectTimeoutEvenWithAShorterReadTimeout() {
    long start = System.nanoTime();
    assertError(522, "connect_timeout", get("timeout-read-first.test", "/"));
    assertNotBeforeTimeout(start, 2 * TIMEOUT_MS);
  }

  @Test
  void unresolvableNameGives523AndOnlyTheLoopbackStubWasAsked() {
    assertError(523, "origin_unresolvable", get("nxdomain.test", "/"));
    assertTrue(dns.queriedNames().contains("no-such-origin.invalid"), "queries: " + dns.queriedNames());
  }

  /**
   * A zone whose origin name does not resolve must not cost a lookup per request: each would be a query
   * to the resolver every zone shares (several, with Kubernetes' search domains) and work on the event
   * loop every zone shares, at the rate the zone's clients send.
   */
  @Test
  void unresolvableNameIsNotLookedUpAgainForEveryRequest() {
    int requests = 20;
    for (int i = 0; i < requests; i++) {
      assertError(523, "origin_unresolvable", get("nxdomain-burst.test", "/"));
    }
    long queries = dns.queriedNames().stream().filter("burst-origin.invalid"::equals).count();
    assertTrue(queries > 0 && queries < requests, requests + " requests asked for the name " + queries + " times");
  }

  @Test
  void noResponseHeadersWithinReadTimeoutGives524AndCancelsTheOriginStream() {
    long start = System.nanoTime();
    assertError(524, "read_timeout", get("never.test", "/never"));
    assertNotBeforeTimeout(start);
    faults.stats().await("the origin stream cancelled", s -> s.resetsReceivedWithCode(FaultActions.CANCEL) >= 1,
      Duration.ofSeconds(5));
  }

  @Test
  void tlsOriginThatNeverAnswersGives525WithinTheConnectTimeout() {
    long start = System.nanoTime();
    assertError(525, "tls_handshake_failed", get("tls-silent.test", "/"));
    assertNotBeforeTimeout(start);
    assertEquals(1, silentTls.stats().connectionsAccepted());
  }

  @Test
  void garbageInsteadOfServerHelloGives525() {
    assertError(525, "tls_handshake_failed", get("tls-garbage.test", "/"));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"untrusted.test", "wrong-name.test"})
  void invalidCertificateWithVerificationOnGives526(String host) {
    assertError(526, "certificate_invalid", get(host, "/"));
  }

  @Test
  void originCaFileAndSniMakeTheSelfSignedOriginTrusted() {
    Exchange exchange = get("trusted.test", "/");
    assertEquals(200, exchange.status(), exchange.body());
    assertEquals("secure", exchange.body());
    assertTrue(namedTls.indicatedNames().contains("origin.test"), "SNI seen: " + namedTls.indicatedNames());
  }

  @Test
  void bodyStallAfterHeadersIsCutWithinReadTimeout() {
    long start = System.nanoTime();
    Future<Throwable> outcome = client.request(new RequestOptions().setMethod(HttpMethod.GET).setURI("/stall"))
      .compose(req -> {
        req.authority(HostAndPort.create("stall.test", -1));
        return req.send().compose(HttpClientResponse::body);
      })
      .transform(ar -> Future.succeededFuture(ar.cause()));
    Throwable cut = Await.result(outcome, 15);
    assertInstanceOf(StreamResetException.class, cut, "the client stream is reset, got " + cut);
    assertNotBeforeTimeout(start);
    faults.stats().await("the stalled origin stream cancelled",
      s -> s.resetsReceived().stream().anyMatch(r -> r.errorCode() == FaultActions.CANCEL),
      Duration.ofSeconds(5));
    assertEquals(1.0, new AdminApi(vertx, proxy.adminPort()).metric("muxgate_origin_errors_total",
      "code=\"524\",zone=\"stall\""), "a stall mid-body is the origin's error too");
  }

  private Exchange get(String host, String path) {
    return Await.result(Exchange.get(client, host, path), 15);
  }

  private static void assertError(int status, String reason, Exchange exchange) {
    assertEquals(status, exchange.status(), exchange.body() + " / " + exchange.header("muxgate-error"));
    assertEquals("error code: " + status, exchange.body());
    assertEquals(reason, exchange.header("muxgate-error"));
  }

  private static void assertNotBeforeTimeout(long startNanos) {
    assertNotBeforeTimeout(startNanos, TIMEOUT_MS);
  }

  /** Measured from before the request was sent: a busy machine only lengthens it. */
  private static void assertNotBeforeTimeout(long startNanos, long timeoutMs) {
    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    assertTrue(ms >= timeoutMs - 100, "answered after " + ms + " ms, before the " + timeoutMs + " ms timeout");
  }
}
