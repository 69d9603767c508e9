package io.muxgate.origin;

import io.muxgate.support.Await;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.testing.CannedResponse;
import io.muxgate.testing.FaultActions;
import io.muxgate.testing.FaultOrigin;
import io.muxgate.testing.FaultPolicy;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What keeps pooled origin connections honest: the idle timeout, HTTP/2 PING on idle connections, TCP
 * keep-alive timing on the socket, and a graceful goodbye (GOAWAY, then close) at shutdown.
 */
class OriginLivenessTest {

  private final List<AutoCloseable> resources = new ArrayList<>();
  private Vertx vertx;

  @AfterEach
  void tearDown() throws Exception {
    for (int i = resources.size() - 1; i >= 0; i--) {
      resources.get(i).close();
    }
    Await.result(vertx.close(), 10);
  }

  @Test
  void idleTimeoutClosesTheConnectionAndTheNextRequestOpensANewOne() {
    vertx = Vertx.vertx();
    FaultOrigin origin = track(FaultOrigin.start(FaultPolicy.always(FaultActions.ok("ok"))));
    HttpClientAgent client = client(proxy(origin, new JsonObject().put("origin_idle_timeout", 1)));

    assertEquals(200, get(client).status());
    // Not closed as its last stream ended: the next request, sent at once, still finds it.
    assertEquals(200, get(client).status());
    assertEquals(1, origin.stats().connectionsAccepted(), "the connection outlived the end of its stream");
    origin.stats().await("the idle connection closed", s -> s.openConnections() == 0, Duration.ofSeconds(10));
    assertEquals(List.of(FaultActions.NO_ERROR), origin.stats().goAwaysReceived(), "a graceful GOAWAY first");

    assertEquals(200, get(client).status());
    assertEquals(2, origin.stats().connectionsAccepted());
  }

  @Test
  void originThatStopsAnsweringPingIsDroppedAndReplacedBeforeTheNextRequest() {
    vertx = Vertx.vertx();
    FaultOrigin origin = track(FaultOrigin.builder().ackPings(false).start());
    // Idle timeout 4 s: PING after 1 s idle, dropped when unanswered 1 s later, well before the idle close.
    HttpClientAgent client = client(proxy(origin, new JsonObject().put("origin_idle_timeout", 4)));

    assertEquals(200, get(client).status());
    origin.stats().await("the unresponsive connection dropped", s -> s.pingsReceived() >= 1 && s.openConnections() == 0,
      Duration.ofSeconds(10));
    // The idle timeout says goodbye with GOAWAY(NO_ERROR); a connection dropped for its PING is cut without one.
    assertEquals(List.of(), origin.stats().goAwaysReceived(), "dropped for the PING, not closed as idle");

    assertEquals(200, get(client).status());
    assertEquals(2, origin.stats().connectionsAccepted(), "the next request went to a fresh connection");
    assertEquals(1, origin.stats().requestsOnConnection(1));
  }

  @Test
  void answeredPingsKeepTheIdleConnection() {
    vertx = Vertx.vertx();
    FaultOrigin origin = track(FaultOrigin.builder().start());
    HttpClientAgent client = client(proxy(origin, new JsonObject().put("origin_idle_timeout", 4)));

    assertEquals(200, get(client).status());
    origin.stats().await("two PINGs", s -> s.pingsReceived() >= 2, Duration.ofSeconds(5));

    assertEquals(1, origin.stats().openConnections());
    assertEquals(200, get(client).status());
    assertEquals(1, origin.stats().connectionsAccepted(), "the PINGed connection was reused");
  }

  @Test
  void originSocketsGetKeepAliveTimingOnTheNativeTransport() {
    vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
    assumeTrue(vertx.isNativeTransportEnabled(), "native epoll transport not available here");
    FaultOrigin origin = track(FaultOrigin.builder().start());
    ProxyHarness proxy = proxy(origin, null);

    assertEquals(200, get(client(proxy)).status());

    Channel channel = originChannel(proxy);
    assertEquals(Boolean.TRUE, channel.config().getOption(ChannelOption.SO_KEEPALIVE));
    assertEquals(30, channel.config().getOption(SocketTuning.TCP_KEEPIDLE));
    assertEquals(15, channel.config().getOption(SocketTuning.TCP_KEEPINTVL));
    assertEquals(2, channel.config().getOption(SocketTuning.TCP_KEEPCNT));
  }

  /**
   * HTTP/2 origin streams run as frames unless {@code -Dmuxgate.frame_streams=false}: the pom's
   * vertx-streams-only run sets it. A Vert.x upgrade that moved its frame listener would make frame
   * streams quietly fall back to Vert.x's; this notices either way.
   */
  @Test
  void http2OriginConnectionsCarryFrameStreamsUnlessSwitchedOff() {
    vertx = Vertx.vertx();
    FaultOrigin origin = track(FaultOrigin.builder().start());
    ProxyHarness proxy = proxy(origin, null);

    assertEquals(200, get(client(proxy)).status());

    Channel channel = originChannel(proxy);
    boolean switchedOff = "false".equalsIgnoreCase(System.getProperty("muxgate.frame_streams"));
    assertEquals(!switchedOff, channel.pipeline().get(FrameStreams.GUARD) != null,
      switchedOff ? "no frame streams when switched off" : "frame streams installed on an h2 origin connection");
  }

  /** The Netty channel under the proxy's first origin connection. */
  private static Channel originChannel(ProxyHarness proxy) {
    OriginPool pool = proxy.app().pools().all().iterator().next();
    Channel channel = ConnectionInternals.channelOf(pool.connectionsForTest().get(0));
    assertNotNull(channel, "the Netty channel under the origin connection");
    return channel;
  }

  @Test
  void shutdownLetsTheInFlightRequestFinishThenSaysGoawayAndCloses() {
    vertx = Vertx.vertx();
    FaultOrigin origin = track(FaultOrigin.start(
      FaultPolicy.always(FaultActions.respondAfter(Duration.ofMillis(500), CannedResponse.ok("finished")))));
    ProxyHarness proxy = ProxyHarness.start(vertx, Map.of("z.json",
      zone("z", "z.test", List.of("h2c://" + origin.authority()), null)));
    Future<Exchange> inFlight = Exchange.get(client(proxy), "z.test", "/slow");
    origin.stats().awaitRequestsReceived(1);

    proxy.close();

    Exchange exchange = Await.result(inFlight);
    assertEquals(200, exchange.status());
    assertEquals("finished", exchange.body());
    origin.stats().await("the origin connection closed", s -> s.openConnections() == 0, Duration.ofSeconds(5));
    assertEquals(List.of(FaultActions.NO_ERROR), origin.stats().goAwaysReceived());
  }

  private ProxyHarness proxy(FaultOrigin origin, JsonObject settings) {
    return track(ProxyHarness.start(vertx, Map.of("z.json",
      zone("z", "z.test", List.of("h2c://" + origin.authority()), settings))));
  }

  private static Exchange get(HttpClientAgent client) {
    return Await.result(Exchange.get(client, "z.test", "/"));
  }

  /** An h2c client to the proxy, kept reachable until tear-down: Vert.x closes a client once unreachable. */
  private HttpClientAgent client(ProxyHarness proxy) {
    HttpClientAgent client = proxy.h2cClient();
    resources.add(() -> client.close().await());
    return client;
  }

  private <T extends AutoCloseable> T track(T resource) {
    resources.add(resource);
    return resource;
  }
}
