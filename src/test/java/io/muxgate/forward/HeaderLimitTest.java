package io.muxgate.forward;

import io.muxgate.admin.AdminApi;
import io.muxgate.observe.ExchangeRecord;
import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.RawFrameClient;
import io.muxgate.support.RawHttp;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpMethod;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A request header block over 32 KiB gets the proxy's own 431 — body, {@code muxgate-error} — from every
 * kind of client, HTTP/2 included (whose codec would otherwise answer a bare 431 of its own), and reaches
 * no origin; one under the limit is forwarded, and the client goes on.
 */
class HeaderLimitTest {

  private static final boolean FRAME_STREAMS = !"false".equalsIgnoreCase(System.getProperty("muxgate.frame_streams"));

  @RegisterExtension
  final TestScope scope = new TestScope();
  private TestOrigin origin;
  private ProxyHarness proxy;

  @BeforeEach
  void setUp() {
    origin = scope.startOrigin(TestOrigin.Mode.H2C);
    proxy = scope.startProxy("z", origin.url(), null);
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ClientKind.class)
  void aHeaderBlockOverTheLimitGetsTheProxys431(ClientKind kind) {
    HttpClientAgent client = scope.client(kind, proxy);

    Exchange refused = Await.result(withHeader(client, 40_000));

    assertEquals(431, refused.status());
    assertEquals("request_headers_too_large", refused.header("muxgate-error"));
    assertEquals("error code: 431", refused.body());
    assertEquals(0, origin.requests(), "the refused request reached the origin");

    Exchange next = Await.result(withHeader(client, 6_000));
    assertEquals(200, next.status(), next.body());
    assertEquals(6_000, origin.received().get(0).getHeader("x-big").length());
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(value = ClientKind.class, names = {"H2_TLS", "H2C"})
  void anHttp2ListFarOverTheLimitGetsItToo(ClientKind kind) {
    Exchange refused = Await.result(withHeader(scope.client(kind, proxy), 200_000));

    assertEquals(431, refused.status());
    assertEquals("request_headers_too_large", refused.header("muxgate-error"));
    assertEquals(0, origin.requests());
    assertEquals("z", proxy.lastRecord("/").zone(), "the refusal is the zone's, as a 413 is");
    assertEquals(1.0, new AdminApi(scope.vertx(), proxy.adminPort()).metric("muxgate_requests_total",
      "code=\"431\",zone=\"z\""));
  }

  /** The Host read just before the one header line over the limit still names the 431's zone. */
  @Test
  void aHostRightBeforeTheHeaderOverTheLimitStillNamesTheZone() throws IOException {
    String answer = RawHttp.exchange(proxy.httpPort(), "GET /cut HTTP/1.1\r\nHost: z.test\r\nx-big: "
      + "b".repeat(40_000) + "\r\n\r\n");

    assertTrue(answer.startsWith("HTTP/1.1 431 "), answer);
    Await.until(() -> proxy.lastRecord("/cut") != null, "the refusal's log line");
    assertEquals("z", proxy.lastRecord("/cut").zone());
    assertEquals("z.test", proxy.lastRecord("/cut").host().host());
    assertEquals(1.0, new AdminApi(scope.vertx(), proxy.adminPort()).metric("muxgate_requests_total",
      "code=\"431\",zone=\"z\""));
  }

  /**
   * A list over the 256 KiB the front end advertises gets the codec's own bare 431, the list dropped as it
   * is decoded: still one log line and one count, under zone="" as nothing of the head is left to name it.
   */
  @Test
  void anHttp2ListOverTheAdvertisedSizeIsLoggedAndCounted() throws InterruptedException {
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    scope.track(() -> group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly());
    RawFrameClient client = RawFrameClient.connect(scope, group, proxy.httpPort());

    client.headers(1, new DefaultHttp2Headers().method("GET").scheme("http").path("/huge").authority("z.test")
      .add("x-big", "b".repeat(300_000)), true);

    assertEquals("HEADERS 1 431", client.next());
    Await.until(() -> !proxy.records().isEmpty(), "the refusal's log line");
    ExchangeRecord logged = proxy.records().get(0);
    assertEquals(431, logged.status());
    assertEquals("request_headers_too_large", logged.error());
    assertEquals("HTTP/2", logged.clientProtocol());
    assertNull(logged.zone());
    assertEquals(1.0, new AdminApi(scope.vertx(), proxy.adminPort()).metric("muxgate_requests_total",
      "code=\"431\",zone=\"\""));
    assertEquals(0, origin.requests());
  }

  /** An HTTP/2 :path is held to the request-target limit HTTP/1.x's request line has: 414 past 16 KiB. */
  @ParameterizedTest(name = "{0}")
  @EnumSource(value = ClientKind.class, names = {"H2_TLS", "H2C"})
  void anHttp2PathOverTheTargetLimitGets414(ClientKind kind) {
    Exchange refused = Await.result(Exchange.get(scope.client(kind, proxy), "z.test", "/" + "p".repeat(20_000)));

    assertEquals(414, refused.status());
    assertEquals("request_uri_too_long", refused.header("muxgate-error"));
    assertEquals(0, origin.requests());
  }

  /**
   * An HTTP/2 origin that advertises a smaller SETTINGS_MAX_HEADER_LIST_SIZE (Vert.x's default, 8 KiB) would
   * refuse a larger list: 431 from the proxy, naming the origin's limit, not a 520 counted against it.
   */
  @ParameterizedTest(name = "{0}")
  @EnumSource(value = ClientKind.class, names = {"HTTP1", "H2C"})
  void aListOverTheOriginsAdvertisedLimitGets431(ClientKind kind) {
    assumeTrue(FRAME_STREAMS, "checked by Muxgate's own origin streams only");
    HttpClientAgent client = scope.client(kind, proxy);

    Exchange refused = Await.result(withHeader(client, 20_000));

    assertEquals(431, refused.status());
    assertEquals("request_headers_too_large_for_origin", refused.header("muxgate-error"));
    assertEquals(0, origin.requests());
    assertEquals(0.0, new AdminApi(scope.vertx(), proxy.adminPort()).sumForZone("muxgate_origin_errors_total", "z"));
    assertEquals(200, Await.result(withHeader(client, 6_000)).status());
  }

  private static io.vertx.core.Future<Exchange> withHeader(HttpClientAgent client, int bytes) {
    return Exchange.send(client, HttpMethod.GET, "z.test", "/", req -> req.putHeader("x-big", "b".repeat(bytes)),
      null);
  }
}
