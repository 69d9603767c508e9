package io.muxgate.forward;

import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.RawHttp;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hop-by-hop headers stop at the proxy in both directions, end-to-end ones pass, and the proxy adds
 * x-forwarded-for (appended), x-forwarded-proto, x-forwarded-host and via.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HopByHopHeadersTest {

  private static final List<String> REQUEST_HOP_HEADERS =
    List.of("keep-alive", "proxy-connection", "upgrade", "x-named-by-connection");

  private static final boolean OWN_STREAMS = !"false".equalsIgnoreCase(System.getProperty("muxgate.front_streams"))
    && !"false".equalsIgnoreCase(System.getProperty("muxgate.frame_streams"));
  /** The front end's own HTTP/2 streams, which tell a request that ended with its head (Vert.x's do not). */
  private static final boolean FRONT_STREAMS = !"false".equalsIgnoreCase(System.getProperty("muxgate.front_streams"));

  @RegisterExtension
  final TestScope scope = new TestScope();
  private ProxyHarness proxy;
  private final AtomicReference<MultiMap> originSaw = new AtomicReference<>();

  @BeforeAll
  void start() {
    TestOrigin h1Origin = scope.startOrigin(TestOrigin.Mode.H1).handler(this::answerWithHopHeaders);
    TestOrigin h2cOrigin = scope.startOrigin(TestOrigin.Mode.H2C).handler(this::answerPlainly);
    // An HTTP/1.0 server, as Python's http.server is: it answers in HTTP/1.0 and closes after each response.
    NetServer h10Origin = Await.result(scope.vertx().createNetServer()
      .connectHandler(socket -> socket.handler(bytes -> {
        if (bytes.toString().contains("\r\n\r\n")) {
          socket.end(Buffer.buffer("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"));
        }
      }))
      .listen(0, "127.0.0.1"));
    proxy = scope.startProxy(Map.of(
      "h1.json", zone("h1", "h1.test", List.of(h1Origin.url()), new JsonObject().put("origin_max_http_version", "1")),
      "h2c.json", zone("h2c", "h2c.test", List.of(h2cOrigin.url()), null),
      "h10.json", zone("h10", "h10.test", List.of("http://127.0.0.1:" + h10Origin.actualPort()),
        new JsonObject().put("origin_max_http_version", "1"))));
  }

  @ParameterizedTest(name = "origin {0}")
  @ValueSource(strings = {"h1.test", "h2c.test"})
  void hopByHopRequestHeadersStopAtTheProxy(String host) {
    HttpClientAgent client = scope.client(ClientKind.HTTP1, proxy);
    for (boolean chunkedBody : new boolean[] {false, true}) {
      Exchange exchange = Await.result(send(client, host, req -> {
        req.putHeader("connection", "keep-alive, X-Named-By-Connection")
          .putHeader("x-named-by-connection", "secret")
          .putHeader("keep-alive", "timeout=5")
          .putHeader("proxy-connection", "keep-alive")
          .putHeader("upgrade", "example/1")
          .putHeader("te", "gzip, trailers")
          .putHeader("x-end-to-end", "kept");
        req.setChunked(chunkedBody);
      }, chunkedBody ? Buffer.buffer("body") : null));
      assertEquals(200, exchange.status(), exchange.body());

      MultiMap seen = originSaw.get();
      for (String hop : REQUEST_HOP_HEADERS) {
        assertNull(seen.get(hop), hop + " reached the origin: " + seen);
      }
      String connection = seen.get("connection");
      assertFalse(connection != null && connection.toLowerCase().contains("x-named-by-connection"),
        "client's connection header reached the origin: " + connection);
      assertEquals("trailers", seen.get("te"), "only the trailers token of TE passes");
      assertEquals("kept", seen.get("x-end-to-end"));
      if (host.equals("h1.test")) {
        // RFC 9110, section 10.1.4: TE is hop-by-hop, so an HTTP/1.1 sender names it in Connection
        assertEquals("te", String.valueOf(seen.get("connection")).toLowerCase(), "connection");
      } else {
        assertNull(seen.get("transfer-encoding"), "transfer-encoding over HTTP/2");
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ClientKind.class)
  void hopByHopResponseHeadersStopAtTheProxy(ClientKind kind) {
    HttpClientAgent client = scope.client(kind, proxy);
    Exchange exchange = Await.result(Exchange.get(client, "h1.test", "/"));
    assertEquals(200, exchange.status(), exchange.body());
    assertEquals("chunked body", exchange.body());
    for (String hop : List.of("keep-alive", "proxy-connection", "upgrade", "te", "x-named-by-origin-connection")) {
      assertNull(exchange.header(hop), hop + " reached the client: " + exchange.headers());
    }
    String connection = exchange.header("connection");
    assertFalse(connection != null && connection.toLowerCase().contains("x-named"),
      "origin's connection header reached the client: " + connection);
    if (kind == ClientKind.HTTP1) {
      assertEquals("chunked", exchange.header("transfer-encoding"), "the proxy's own framing toward the client");
    } else {
      assertNull(exchange.header("transfer-encoding"), "transfer-encoding over HTTP/2");
    }
    assertEquals("kept", exchange.header("x-end-to-end"));
    assertEquals("1.0 origin-cache, 1.1 muxgate", exchange.header("via"), "via names the origin's protocol");
  }

  /**
   * RFC 9110, section 7.6.3: a via entry names the protocol its message was received in, and the origin's
   * response came in HTTP/1.0 (Vert.x reports every HTTP/1.x response as HTTP/1.1).
   */
  @ParameterizedTest(name = "{0}")
  @EnumSource(ClientKind.class)
  void viaNamesHttp10ForAnHttp10OriginsResponse(ClientKind kind) {
    HttpClientAgent client = scope.client(kind, proxy);
    for (int i = 0; i < 2; i++) {
      Exchange exchange = Await.result(Exchange.get(client, "h10.test", "/"));
      assertEquals(200, exchange.status(), exchange.body());
      assertEquals("ok", exchange.body());
      assertEquals("1.0 muxgate", exchange.header("via"));
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ClientKind.class)
  void forwardedHeadersAndViaAreAdded(ClientKind kind) {
    HttpClientAgent client = scope.client(kind, proxy);
    Exchange exchange = Await.result(send(client, "h2c.test", req -> req
      .putHeader("x-forwarded-for", "203.0.113.9")
      .putHeader("x-forwarded-proto", "gopher")
      .putHeader("x-forwarded-host", "spoofed.example")
      .putHeader("via", "1.0 corp-proxy")
      .putHeader("te", "trailers"), null));
    assertEquals(200, exchange.status(), exchange.body());

    MultiMap seen = originSaw.get();
    assertEquals("203.0.113.9, 127.0.0.1", seen.get("x-forwarded-for"));
    assertEquals(kind.tls() ? "https" : "http", seen.get("x-forwarded-proto"));
    assertEquals("h2c.test", seen.get("x-forwarded-host"));
    assertEquals("1.0 corp-proxy, " + kind.firstVia(), seen.get("via"));
    assertEquals("trailers", seen.get("te"));
    assertEquals("2 muxgate", exchange.header("via"), "the response came from an HTTP/2 origin");

    Exchange plain = Await.result(Exchange.get(client, "h2c.test", "/"));
    assertEquals(200, plain.status(), plain.body());
    assertEquals("127.0.0.1", originSaw.get().get("x-forwarded-for"));
    assertEquals(kind.via(), originSaw.get().get("via"));
  }

  /**
   * The first request of an h2c Upgrade came in HTTP/1.1, though it is answered in HTTP/2: its via says so
   * (RFC 9110, section 7.6.3), and the connection's next request, sent in HTTP/2, says that.
   */
  @Test
  void theFirstRequestOfAnH2cUpgradeIsForwardedAsReceivedInHttp11() {
    HttpClientAgent client = proxy.h2cUpgradeClient();
    for (String via : List.of("1.1 muxgate", "2 muxgate")) {
      Exchange exchange = Await.result(Exchange.get(client, "h2c.test", "/"));
      assertEquals(200, exchange.status(), exchange.body());
      assertEquals(via, originSaw.get().get("via"));
      assertEquals("2 muxgate", exchange.header("via"), "the response came from an HTTP/2 origin");
    }
  }

  /** An x-forwarded-for sent empty is a list of no address: the client's own alone, not {@code , 127.0.0.1}. */
  @ParameterizedTest(name = "{0}")
  @EnumSource(ClientKind.class)
  void anEmptyForwardedForGetsTheClientsAddressAlone(ClientKind kind) {
    HttpClientAgent client = scope.client(kind, proxy);
    for (String host : List.of("h2c.test", "h1.test")) {
      Exchange exchange = Await.result(send(client, host, req -> req.putHeader("x-forwarded-for", ""), null));
      assertEquals(200, exchange.status(), exchange.body());
      assertEquals("127.0.0.1", originSaw.get().get("x-forwarded-for"), host);
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ClientKind.class)
  void anHttp1OriginGetsTheForwardedHeadersAndNoPseudoHeaders(ClientKind kind) {
    HttpClientAgent client = scope.client(kind, proxy);
    Exchange exchange = Await.result(send(client, "h1.test", req -> req.putHeader("x-forwarded-for", "203.0.113.9"),
      null));
    assertEquals(200, exchange.status(), exchange.body());

    MultiMap seen = originSaw.get();
    assertEquals("203.0.113.9, 127.0.0.1", seen.get("x-forwarded-for"));
    assertEquals(kind.tls() ? "https" : "http", seen.get("x-forwarded-proto"));
    assertEquals("h1.test", seen.get("x-forwarded-host"));
    assertEquals(kind.firstVia(), seen.get("via"));
    assertEquals("h1.test", seen.get("host"));
    assertTrue(seen.names().stream().noneMatch(name -> name.startsWith(":")), () -> "origin saw " + seen.names());
  }

  /** RFC 3986, section 6.2.3: an empty port ("h1.test:") is no port; it reached the origin as port 0. */
  @ParameterizedTest(name = "origin {0}")
  @ValueSource(strings = {"h1.test", "h2c.test"})
  void anEmptyPortIsLeftOutOfTheAuthorityTheOriginGets(String host) throws IOException {
    String answer = RawHttp.exchange(proxy.httpPort(), "GET / HTTP/1.1\r\nHost: " + host + ":\r\nConnection: close\r\n\r\n");
    assertTrue(answer.startsWith("HTTP/1.1 200 "), answer);

    MultiMap seen = originSaw.get();
    assertEquals(host, seen.get("x-forwarded-host"));
    if (host.equals("h1.test")) {
      assertEquals(host, seen.get("host"));
    }
  }

  /**
   * An HTTP/2 request whose stream ends with its head has an empty body; an HTTP/1.1 origin gets that said
   * as {@code content-length: 0} for a method whose requests carry content, as nginx says it (RFC 9110,
   * section 8.6), where no length and no chunking would leave origins that want one to answer 411. A GET
   * gets no length, and an HTTP/1.1 client's request (an h2c Upgrade's first one too) goes as it came.
   * With {@code -Dmuxgate.front_streams=false}, Vert.x's server streams carry HTTP/2 and the request goes
   * as it came too.
   */
  @ParameterizedTest(name = "{0}")
  @EnumSource(ClientKind.class)
  void anEmptyHttp2PostReachesAnHttp1OriginWithAZeroLength(ClientKind kind) {
    HttpClientAgent client = scope.client(kind, proxy);
    for (HttpMethod method : List.of(HttpMethod.POST, HttpMethod.PUT, HttpMethod.PATCH, HttpMethod.GET)) {
      Exchange exchange = Await.result(Exchange.send(client, method, "h1.test", "/", req -> {
      }, null));
      assertEquals(200, exchange.status(), exchange.body());
      MultiMap seen = originSaw.get();
      boolean bodilessHttp2 = FRONT_STREAMS && kind.version() == HttpVersion.HTTP_2 && method != HttpMethod.GET
        && !(kind == ClientKind.H2C_UPGRADE && method == HttpMethod.POST);
      assertEquals(bodilessHttp2 ? "0" : null, seen.get("content-length"), method + " " + seen);
      assertNull(seen.get("transfer-encoding"), method + " " + seen);
    }
  }

  /**
   * Trailer announces trailers; where the proxy drops them (an HTTP/1.1 client's, anything bound for an
   * HTTP/1.1 origin) it drops the announcement too, and keeps it where they go on (HTTP/2 end to end).
   */
  @Test
  void trailerIsAnnouncedOnlyWhereTrailersGoOn() {
    HttpClientAgent h1 = scope.client(ClientKind.HTTP1, proxy);
    HttpClientAgent h2 = scope.client(ClientKind.H2C, proxy);
    for (String host : List.of("h1.test", "h2c.test")) {
      for (HttpClientAgent client : List.of(h1, h2)) {
        Exchange exchange = Await.result(send(client, host,
          req -> req.putHeader("trailer", "x-checksum").setChunked(true), Buffer.buffer("body")));
        assertEquals(200, exchange.status(), exchange.body());
        boolean trailersGoOn = client == h2 && host.equals("h2c.test") && OWN_STREAMS;
        assertEquals(trailersGoOn ? "x-checksum" : null, originSaw.get().get("trailer"), host + " " + exchange.version());
      }
    }
  }

  private void answerWithHopHeaders(HttpServerRequest request) {
    originSaw.set(HttpHeaders.headers().addAll(request.headers()));
    request.body().onSuccess(body -> request.response()
      .putHeader("connection", "keep-alive, x-named-by-origin-connection")
      .putHeader("x-named-by-origin-connection", "secret")
      .putHeader("keep-alive", "timeout=9")
      .putHeader("proxy-connection", "keep-alive")
      .putHeader("upgrade", "example/2")
      .putHeader("te", "trailers")
      .putHeader("x-end-to-end", "kept")
      .putHeader("via", "1.0 origin-cache")
      .setChunked(true)
      .write("chunked ")
      .compose(v -> request.response().end("body")));
  }

  private void answerPlainly(HttpServerRequest request) {
    originSaw.set(HttpHeaders.headers().addAll(request.headers()));
    request.body().onSuccess(body -> request.response().end("ok"));
  }

  private static Future<Exchange> send(HttpClientAgent client, String host,
                                                     Consumer<HttpClientRequest> customize,
                                                     Buffer body) {
    return Exchange.send(client, body == null ? HttpMethod.GET : HttpMethod.POST, host, "/", customize, body);
  }
}
