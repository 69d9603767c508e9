package io.muxgate.origin;

import io.muxgate.admin.AdminApi;
import io.muxgate.observe.ExchangeRecord;
import io.muxgate.support.Await;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestScope;
import io.muxgate.testing.CannedResponse;
import io.muxgate.testing.FaultAction;
import io.muxgate.testing.FaultActions;
import io.muxgate.testing.FaultOrigin;
import io.muxgate.testing.FaultPolicy;
import io.muxgate.testing.RecordedRequest;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Requests the origin provably never processed (streams above a GOAWAY's last-stream-id, streams
 * refused with REFUSED_STREAM) are sent once more, whatever their method; an idempotent one whose
 * connection closed before any response byte too, the others not. Each counts once in {@code
 * muxgate_origin_replays_total}.
 */
class UnprocessedReplayTest {

  @RegisterExtension
  final TestScope scope = new TestScope();

  @Test
  void goawayMidBurstReplaysUnprocessedStreamsExactlyOnce() {
    int burst = 500;
    int lastStreamId = 19; // streams 1..19: the first ten requests on connection 0 are processed
    int trigger = 20;      // the 20th request on connection 0 makes the origin send GOAWAY(19)
    FaultAction echo = exchange -> exchange.respond(CannedResponse.ok(exchange.request().path()));
    // The GOAWAY goes out as raw bytes, so the origin's codec keeps the connection open and reads (and
    // counts) every stream the proxy sent before it saw the GOAWAY; none above 19 is ever answered.
    FaultAction goAway = exchange -> exchange.writeRawBytes(goAwayFrame(lastStreamId));
    FaultOrigin origin = scope.track(FaultOrigin.start(request -> {
      if (request.connectionIndex() != 0 || request.streamId() <= lastStreamId) {
        return echo;
      }
      return request.requestNumberOnConnection() == trigger ? goAway : FaultActions.neverAnswer();
    }));
    ProxyHarness proxy = scope.track(ProxyHarness.start(scope.vertx(), Map.of("z.json",
      zone("z", "z.test", List.of("h2c://" + origin.authority()), null))));
    HttpClientAgent client = client(proxy);

    List<Future<Exchange>> responses = new ArrayList<>();
    for (int i = 0; i < burst; i++) {
      String path = "/r" + i;
      responses.add(i % 2 == 0
        ? Exchange.get(client, "z.test", path)
        : Exchange.send(client, HttpMethod.POST, "z.test", path, req -> { }, Buffer.buffer("body " + i)));
    }
    Await.result(Future.join(responses), 30);

    for (int i = 0; i < burst; i++) {
      Exchange exchange = responses.get(i).result();
      assertEquals(200, exchange.status(), "request " + i + ": " + exchange.header("muxgate-error"));
      assertEquals("/r" + i, exchange.body());
    }
    Map<String, Long> timesProcessed = origin.stats().requests().stream()
      .filter(r -> r.connectionIndex() != 0 || r.streamId() <= lastStreamId)
      .collect(Collectors.groupingBy(RecordedRequest::path, Collectors.counting()));
    assertEquals(burst, timesProcessed.size(), "every request processed");
    assertTrue(timesProcessed.values().stream().allMatch(n -> n == 1), "each processed exactly once");
    // Streams above 19 that reached the origin; a stream the proxy was about to open when the GOAWAY
    // arrived is refused locally by Netty, never reaches the wire, and is not a replay.
    origin.stats().awaitOpenConnections(origin.stats().connectionsAccepted() - 1); // the proxy closed it
    int aboveLastStreamId = origin.stats().requestsOnConnection(0) - (lastStreamId + 1) / 2;
    assertTrue(aboveLastStreamId >= trigger - 10, "streams above last-stream-id: " + aboveLastStreamId);
    assertEquals(aboveLastStreamId, replays(proxy, "z"), "replays counted");
  }

  @Test
  void twoStepGoawayReplaysStreamsAboveTheSecondLastStreamId() {
    int lastStreamId = 19;
    // A draining origin first says "no new streams soon" (2^31-1), then names the last one it processed.
    FaultAction twoStepGoAway = exchange -> {
      exchange.writeRawBytes(goAwayFrame(Integer.MAX_VALUE));
      exchange.writeRawBytes(goAwayFrame(lastStreamId));
    };
    FaultOrigin origin = scope.track(FaultOrigin.start(request -> {
      if (request.connectionIndex() != 0 || request.streamId() <= lastStreamId) {
        return FaultActions.respond(CannedResponse.ok(request.path()));
      }
      return request.requestNumberOnConnection() == 20 ? twoStepGoAway : FaultActions.neverAnswer();
    }));
    ProxyHarness proxy = scope.track(ProxyHarness.start(scope.vertx(), Map.of("z.json",
      zone("z", "z.test", List.of("h2c://" + origin.authority()), null))));
    HttpClientAgent client = client(proxy);

    List<Future<Exchange>> responses = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      responses.add(Exchange.get(client, "z.test", "/r" + i));
    }
    Await.result(Future.join(responses), 30);

    for (int i = 0; i < 60; i++) {
      Exchange exchange = responses.get(i).result();
      assertEquals(200, exchange.status(), "request " + i + ": " + exchange.header("muxgate-error"));
      assertEquals("/r" + i, exchange.body());
    }
    origin.stats().awaitOpenConnections(origin.stats().connectionsAccepted() - 1);
    assertEquals(origin.stats().requestsOnConnection(0) - (lastStreamId + 1) / 2, replays(proxy, "z"));
  }

  /** A GOAWAY frame (RFC 9113 §6.8) with NO_ERROR and no debug data. */
  private static byte[] goAwayFrame(int lastStreamId) {
    return new byte[] {
      0, 0, 8, 0x7, 0, 0, 0, 0, 0,
      (byte) (lastStreamId >>> 24), (byte) (lastStreamId >>> 16), (byte) (lastStreamId >>> 8), (byte) lastStreamId,
      0, 0, 0, 0};
  }

  @Test
  void refusedStreamIsReplayedOnceAndSucceeds() {
    FaultOrigin origin = scope.track(FaultOrigin.start(
      FaultPolicy.firstAttemptPerPath(FaultActions.refuseStream(), FaultActions.ok("second try"))));
    ProxyHarness proxy = scope.track(ProxyHarness.start(scope.vertx(), Map.of("z.json",
      zone("z", "z.test", List.of("h2c://" + origin.authority()), null))));

    Exchange exchange = Await.result(Exchange.send(client(proxy), HttpMethod.DELETE, "z.test", "/flaky",
      req -> { }, null));

    assertEquals(200, exchange.status(), exchange.body());
    assertEquals("second try", exchange.body());
    assertEquals(List.of(1, 2), origin.stats().requests().stream().map(RecordedRequest::attemptForPath).toList());
    assertEquals(1, replays(proxy, "z"));
  }

  /** DESIGN: a refused stream is retried "on another connection": a connection that refuses all gets none. */
  @Test
  void aRefusedStreamIsRetriedOnAnotherConnection() {
    FaultOrigin origin = scope.track(FaultOrigin.start(request -> request.connectionIndex() == 0
      ? FaultActions.refuseStream() : FaultActions.ok("elsewhere")));
    ProxyHarness proxy = scope.track(ProxyHarness.start(scope.vertx(), Map.of("z.json",
      zone("z", "z.test", List.of("h2c://" + origin.authority()), null))));

    Exchange exchange = Await.result(Exchange.get(client(proxy), "z.test", "/refused-here"));

    assertEquals(200, exchange.status(), exchange.body());
    assertEquals("elsewhere", exchange.body());
    assertEquals(List.of(0, 1), origin.stats().requests().stream().map(RecordedRequest::connectionIndex).toList());
  }

  /**
   * A connection that refuses every stream is drained after three refusals in a row: the requests after
   * them go straight to another connection instead of meeting a refusal first.
   */
  @Test
  void aConnectionThatRefusesEveryStreamIsDrainedAfterThree() {
    FaultOrigin origin = scope.track(FaultOrigin.start(request -> request.connectionIndex() == 0
      ? FaultActions.refuseStream() : FaultActions.ok("elsewhere")));
    ProxyHarness proxy = scope.track(ProxyHarness.start(scope.vertx(), Map.of("z.json",
      zone("z", "z.test", List.of("h2c://" + origin.authority()), null))));
    HttpClientAgent client = client(proxy);

    for (int i = 0; i < 8; i++) {
      assertEquals(200, Await.result(Exchange.get(client, "z.test", "/r" + i)).status());
    }

    assertEquals(OriginPool.MAX_REFUSED_IN_A_ROW, origin.stats().requestsOnConnection(0),
      "streams the refusing connection was given");
  }

  @Test
  void bodyOverTheReplayCapIsNotReplayedButFailsWith520() {
    // Refused only once the whole body has arrived, so the proxy has read past the 1 MiB it keeps.
    FaultAction refuseAfterBody = exchange -> exchange.whenRequestComplete(
      () -> exchange.reset(FaultActions.REFUSED_STREAM));
    FaultOrigin origin = scope.track(FaultOrigin.start(
      FaultPolicy.firstAttemptPerPath(refuseAfterBody, FaultActions.ok("second try"))));
    ProxyHarness proxy = scope.track(ProxyHarness.start(scope.vertx(), Map.of("z.json",
      zone("z", "z.test", List.of("h2c://" + origin.authority()), null))));
    HttpClientAgent client = client(proxy);

    Exchange big = Await.result(Exchange.send(client, HttpMethod.POST, "z.test", "/big", req -> { },
      Buffer.buffer(new byte[2 * 1024 * 1024])));
    Exchange small = Await.result(Exchange.send(client, HttpMethod.POST, "z.test", "/small", req -> { },
      Buffer.buffer(new byte[512 * 1024])));

    assertEquals(520, big.status(), big.body());
    assertEquals("error code: 520", big.body());
    assertEquals("replay_body_too_large", big.header("muxgate-error"));
    assertEquals(1, attempts(origin, "/big"), "a partial body is never sent again");
    assertEquals(200, small.status(), "a body under the cap is replayed whole: " + small.body());
    assertEquals(2, attempts(origin, "/small"));
  }

  @Test
  void anIdempotentRequestOnAReusedConnectionClosedBeforeAnyResponseByteIsReplayedOnANewConnection() {
    ClosingOrigin closing = originClosingOnTheSecondRequestOfEachConnection();
    Exchange second = Await.result(Exchange.send(closing.client, HttpMethod.PUT, "z.test", "/second", req -> { },
      Buffer.buffer("once more")));

    assertEquals(200, second.status(), second.body());
    assertEquals(2, closing.origin.stats().connectionsAccepted());
    assertEquals(2, attempts(closing.origin, "/second"));
    assertEquals(1, replays(closing.proxy, "z"));
  }

  /**
   * Without a GOAWAY the proxy cannot tell an idle close it raced from an origin that processed the
   * request and died: a POST is not sent again (RFC 9110 §9.2.2), so it is never executed twice.
   */
  @Test
  void aPostOnAReusedConnectionClosedBeforeAnyResponseByteIsNotReplayed() {
    ClosingOrigin closing = originClosingOnTheSecondRequestOfEachConnection();
    Exchange pay = Await.result(Exchange.send(closing.client, HttpMethod.POST, "z.test", "/pay", req -> { },
      Buffer.buffer("charge=100")));

    assertEquals(520, pay.status(), pay.body());
    assertEquals("origin_closed", pay.header("muxgate-error"));
    assertEquals(1, attempts(closing.origin, "/pay"));
    assertEquals(0, replays(closing.proxy, "z"));
  }

  /** An origin that dies on a request gets it twice, not once on every pooled connection. */
  @Test
  void anIdempotentRequestThatKeepsClosingReusedConnectionsIsReplayedOnce() {
    CompletableFuture<Void> release = new CompletableFuture<>();
    FaultAction held = FaultActions.respondWhenReleased(release, CannedResponse.ok("warm"));
    FaultOrigin origin = scope.track(FaultOrigin.start(
      request -> request.path().equals("/poison") ? FaultActions.closeConnection() : held));
    ProxyHarness proxy = scope.track(ProxyHarness.start(scope.vertx(), Map.of("z.json",
      zone("z", "z.test", List.of("h2c://" + origin.authority()),
        new JsonObject().put("origin_h2_max_streams", 1)))));
    HttpClientAgent client = client(proxy);
    List<Future<Exchange>> warm = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      warm.add(Exchange.get(client, "z.test", "/warm"));
    }
    Await.until(() -> origin.stats().requests().size() == 4, "four warm-up requests on four connections");
    release.complete(null);
    for (Future<Exchange> w : warm) {
      assertEquals(200, Await.result(w).status());
    }

    Exchange poison = Await.result(Exchange.get(client, "z.test", "/poison"));

    assertEquals(520, poison.status(), poison.body());
    assertEquals("origin_closed", poison.header("muxgate-error"));
    assertEquals(4, origin.stats().connectionsAccepted(), "both tries on pooled connections");
    assertEquals(2, attempts(origin, "/poison"));
    assertEquals(1, replays(proxy, "z"));
  }

  /**
   * An origin that stops while the proxy opens a connection to it (a restart) closes that connection with
   * the request unanswered, its GOAWAY lost or never sent: an idempotent request goes once more on
   * another connection, as nginx's default {@code proxy_next_upstream error} sends it to the next server.
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"close", "reset"})
  void anIdempotentRequestOnANewConnectionClosedBeforeAnyResponseByteIsReplayedOnAnother(String how) {
    FaultAction close = how.equals("reset") ? FaultActions.resetConnection() : FaultActions.closeConnection();
    FaultOrigin origin = scope.track(FaultOrigin.start(
      request -> request.connectionIndex() == 0 ? close : FaultActions.ok("ok")));
    ProxyHarness proxy = scope.track(ProxyHarness.start(scope.vertx(), Map.of("z.json",
      zone("z", "z.test", List.of("h2c://" + origin.authority()), null))));

    Exchange get = Await.result(Exchange.get(client(proxy), "z.test", "/get"));

    assertEquals(200, get.status(), get.header("muxgate-error"));
    assertEquals(2, attempts(origin, "/get"));
    assertEquals(2, origin.stats().connectionsAccepted());
    assertReplayedOnce(proxy, "/get", "h2c://" + origin.authority());
  }

  /**
   * An origin restarting: the first connection's GOAWAY leaves the request unprocessed, and the connection
   * it goes on to closes before answering. The try the GOAWAY cost repeated no work, so it does not use up
   * the one replay the unanswered close is owed.
   */
  @Test
  void anIdempotentRequestClosedUnansweredAfterAGoawayReplayIsReplayedOnceMore() {
    FaultOrigin origin = scope.track(FaultOrigin.start(request -> switch (request.connectionIndex()) {
      case 0 -> FaultActions.goAway(0, CannedResponse.ok("unreachable"));
      case 1 -> FaultActions.closeConnection();
      default -> FaultActions.ok("ok");
    }));
    ProxyHarness proxy = scope.track(ProxyHarness.start(scope.vertx(), Map.of("z.json",
      zone("z", "z.test", List.of("h2c://" + origin.authority()), null))));

    Exchange get = Await.result(Exchange.get(client(proxy), "z.test", "/get"));

    assertEquals(200, get.status(), get.header("muxgate-error"));
    assertEquals(List.of(0, 1, 2), origin.stats().requests().stream().map(RecordedRequest::connectionIndex).toList());
    AdminApi admin = new AdminApi(scope.vertx(), proxy.adminPort());
    assertEquals(1, admin.metric("muxgate_origin_replays_total", "reason=\"goaway\",zone=\"z\""));
    assertEquals(1, admin.metric("muxgate_origin_replays_total", "reason=\"closed_on_new_connection\",zone=\"z\""));
  }

  @Test
  void anIdempotentRequestOnANewHttp11ConnectionClosedWithoutAnswerIsReplayedOnAnother() {
    AtomicInteger connections = new AtomicInteger();
    AtomicInteger requests = new AtomicInteger();
    NetServer origin = Await.result(scope.vertx().createNetServer()
      .connectHandler(socket -> {
        boolean first = connections.getAndIncrement() == 0;
        socket.handler(bytes -> {
          if (bytes.toString().contains("\r\n\r\n")) {
            requests.incrementAndGet();
            if (first) {
              socket.close();
            } else {
              socket.write(Buffer.buffer("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
            }
          }
        });
      })
      .listen(0, "127.0.0.1"));
    scope.track(() -> origin.close().await());
    String address = "http://127.0.0.1:" + origin.actualPort();
    ProxyHarness proxy = scope.track(ProxyHarness.start(scope.vertx(), Map.of("z.json",
      zone("z", "z.test", List.of(address), new JsonObject().put("origin_max_http_version", "1")))));

    Exchange get = Await.result(Exchange.get(client(proxy), "z.test", "/get"));

    assertEquals(200, get.status(), get.header("muxgate-error"));
    assertEquals(2, requests.get());
    assertReplayedOnce(proxy, "/get", address);
  }

  @Test
  void aPostOnANewConnectionClosedBeforeAnyResponseByteIsNotReplayed() {
    FaultOrigin origin = scope.track(FaultOrigin.start(
      request -> request.connectionIndex() == 0 ? FaultActions.closeConnection() : FaultActions.ok("ok")));
    ProxyHarness proxy = scope.track(ProxyHarness.start(scope.vertx(), Map.of("z.json",
      zone("z", "z.test", List.of("h2c://" + origin.authority()), null))));

    Exchange pay = Await.result(Exchange.send(client(proxy), HttpMethod.POST, "z.test", "/pay", req -> { },
      Buffer.buffer("charge=100")));

    assertEquals(520, pay.status(), pay.body());
    assertEquals("origin_closed", pay.header("muxgate-error"));
    assertEquals(1, attempts(origin, "/pay"));
    assertEquals(0, replays(proxy, "z"));
  }

  /** An origin that closes every connection unanswered costs one extra attempt per request, not more. */
  @Test
  void anIdempotentRequestToAnOriginThatClosesEveryNewConnectionIsTriedTwice() {
    FaultOrigin origin = scope.track(FaultOrigin.start(FaultPolicy.always(FaultActions.closeConnection())));
    ProxyHarness proxy = scope.track(ProxyHarness.start(scope.vertx(), Map.of("z.json",
      zone("z", "z.test", List.of("h2c://" + origin.authority()), null))));

    Exchange get = Await.result(Exchange.get(client(proxy), "z.test", "/get"));

    assertEquals(520, get.status(), get.body());
    assertEquals("origin_closed", get.header("muxgate-error"));
    assertEquals(2, attempts(origin, "/get"));
    assertEquals(1, replays(proxy, "z"));
    assertEquals(1, new AdminApi(scope.vertx(), proxy.adminPort()).metric("muxgate_origin_errors_total",
      "code=\"520\",zone=\"z\""));
  }

  /**
   * The replay hides the close from the client, not from the origin's health: an origin in balancing
   * that closes each new connection unanswered is ejected, its requests answered by the other.
   */
  @Test
  void anOriginThatClosesEveryNewConnectionIsEjectedWhileItsRequestsAreAnsweredElsewhere() {
    FaultOrigin closing = scope.track(FaultOrigin.start(FaultPolicy.always(FaultActions.closeConnection())));
    FaultOrigin up = scope.track(FaultOrigin.start(FaultPolicy.always(FaultActions.ok("ok"))));
    ProxyHarness proxy = scope.track(ProxyHarness.start(scope.vertx(), Map.of("z.json",
      zone("z", "z.test", List.of("h2c://" + closing.authority(), "h2c://" + up.authority()), null))));
    HttpClientAgent client = client(proxy);
    AdminApi admin = new AdminApi(scope.vertx(), proxy.adminPort());
    String labels = "origin=\"h2c://" + closing.authority() + "\",zone=\"z\"";

    for (int i = 0; i < 60 && admin.metric("muxgate_origin_ejections_total", labels) == 0; i++) {
      Exchange get = Await.result(Exchange.get(client, "z.test", "/r" + i));
      assertEquals(200, get.status(), "request " + i + ": " + get.header("muxgate-error"));
    }

    assertTrue(admin.metric("muxgate_origin_ejections_total", labels) >= 1, "the closing origin is ejected");
  }

  /** One replay, counted as a close on a new connection, and logged with the origin of the first try. */
  private void assertReplayedOnce(ProxyHarness proxy, String path, String firstOrigin) {
    assertEquals(1, new AdminApi(scope.vertx(), proxy.adminPort()).metric("muxgate_origin_replays_total",
      "reason=\"closed_on_new_connection\",zone=\"z\""));
    Await.until(() -> proxy.lastRecord(path) != null, "the access log record");
    ExchangeRecord record = proxy.lastRecord(path);
    assertEquals(2, record.attempts());
    assertEquals(List.of(firstOrigin), record.originsTried().stream().map(String::valueOf).toList());
  }

  private record ClosingOrigin(FaultOrigin origin, ProxyHarness proxy, HttpClientAgent client) { }

  /** An origin that drops the connection on its second request, behind a proxy that has served one. */
  private ClosingOrigin originClosingOnTheSecondRequestOfEachConnection() {
    FaultOrigin origin = scope.track(FaultOrigin.start(
      FaultPolicy.onNthRequestOfConnection(2, FaultActions.closeConnection(), FaultActions.ok("ok"))));
    ProxyHarness proxy = scope.track(ProxyHarness.start(scope.vertx(), Map.of("z.json",
      zone("z", "z.test", List.of("h2c://" + origin.authority()), null))));
    HttpClientAgent client = client(proxy);
    assertEquals(200, Await.result(Exchange.get(client, "z.test", "/first")).status());
    return new ClosingOrigin(origin, proxy, client);
  }

  private static long attempts(FaultOrigin origin, String path) {
    return origin.stats().requests().stream().filter(r -> r.path().equals(path)).count();
  }

  /** Sum of {@code muxgate_origin_replays_total} over every reason, for one zone. */
  private int replays(ProxyHarness proxy, String zone) {
    return (int) new AdminApi(scope.vertx(), proxy.adminPort()).sumForZone("muxgate_origin_replays_total", zone);
  }

  /** An h2c client to the proxy, kept reachable until tear-down: Vert.x closes a client once unreachable. */
  private HttpClientAgent client(ProxyHarness proxy) {
    HttpClientAgent client = proxy.h2cClient();
    scope.track(() -> client.close().await());
    return client;
  }

}
