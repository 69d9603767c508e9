package io.muxgate.forward;

import io.muxgate.admin.AdminApi;
import io.muxgate.observe.ExchangeRecord;
import io.muxgate.support.Await;
import io.muxgate.support.FrameClient;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2Headers;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * An HTTP/2 request head that Netty's codec lets through but no stream can carry (RFC 9113, section 8.1.1:
 * a mandatory pseudo-header missing, a method that is no token, an :authority or lone host that is no
 * authority, a CONNECT of the wrong shape) gets the proxy's own answer, logged and counted under zone=""
 * like its other refusals, where Vert.x's server reset it with PROTOCOL_ERROR unseen (or, for a method that
 * is no token, ended the whole connection). Only that stream is refused: the connection serves on. The same
 * in both modes (the pom's vertx-streams-only execution runs this with every stream Vert.x's), over h2c and h2.
 */
class MalformedRequestHeadTest {

  private static final boolean FRONT_STREAMS = !"false".equalsIgnoreCase(System.getProperty("muxgate.front_streams"));

  @RegisterExtension
  final TestScope scope = new TestScope();
  private TestOrigin origin;
  private ProxyHarness proxy;

  /** A malformed head: how to build it over {@code scheme}, and the method and path its record shows. */
  enum Malformed {
    NO_METHOD(null, "/no-method") {
      @Override
      Http2Headers head(String scheme) {
        return new DefaultHttp2Headers(false).scheme(scheme).authority("z.test").path("/no-method");
      }
    },
    NO_SCHEME("GET", "/no-scheme") {
      @Override
      Http2Headers head(String scheme) {
        return new DefaultHttp2Headers(false).method("GET").authority("z.test").path("/no-scheme");
      }
    },
    NO_PATH("GET", null) {
      @Override
      Http2Headers head(String scheme) {
        return new DefaultHttp2Headers(false).method("GET").scheme(scheme).authority("z.test");
      }
    },
    METHOD_THAT_IS_NO_TOKEN("G T", "/no-token") {
      @Override
      Http2Headers head(String scheme) {
        return request("G T", scheme, "z.test", "/no-token");
      }
    },
    AUTHORITY_THAT_IS_NO_AUTHORITY("GET", "/bad-authority") {
      @Override
      Http2Headers head(String scheme) {
        return request("GET", scheme, "z test", "/bad-authority");
      }
    },
    AUTHORITY_WITH_USERINFO("GET", "/userinfo") {
      @Override
      Http2Headers head(String scheme) {
        return request("GET", scheme, "user@z.test", "/userinfo");
      }
    },
    /** Vert.x served this by the host; the :authority names the target, and it is none. */
    AUTHORITY_THAT_IS_NO_AUTHORITY_BESIDE_A_HOST("GET", "/bad-authority-host") {
      @Override
      Http2Headers head(String scheme) {
        return request("GET", scheme, "z test", "/bad-authority-host").add("host", "z.test");
      }
    },
    /** RFC 9110, section 4.2.1: an http URI with an empty host is invalid, not one for a host no zone claims. */
    AUTHORITY_WITH_AN_EMPTY_HOST("GET", "/empty-host") {
      @Override
      Http2Headers head(String scheme) {
        return request("GET", scheme, ":80", "/empty-host");
      }
    },
    LONE_HOST_WITH_AN_EMPTY_HOST("GET", "/empty-lone-host") {
      @Override
      Http2Headers head(String scheme) {
        return new DefaultHttp2Headers(false).method("GET").scheme(scheme).path("/empty-lone-host").add("host", ":80");
      }
    },
    LONE_HOST_THAT_IS_NO_AUTHORITY("GET", "/bad-host") {
      @Override
      Http2Headers head(String scheme) {
        return new DefaultHttp2Headers(false).method("GET").scheme(scheme).path("/bad-host").add("host", "z test");
      }
    },
    CONNECT_WITH_SCHEME_AND_PATH("CONNECT", "/tunnel") {
      @Override
      Http2Headers head(String scheme) {
        return request("CONNECT", scheme, "z.test:443", "/tunnel");
      }
    },
    CONNECT_WITHOUT_AUTHORITY("CONNECT", null) {
      @Override
      Http2Headers head(String scheme) {
        return new DefaultHttp2Headers(false).method("CONNECT");
      }
    },
    /** RFC 8441's :protocol belongs to a CONNECT; on a GET it was dropped and the request forwarded. */
    PROTOCOL_WITHOUT_CONNECT("GET", "/not-a-tunnel") {
      @Override
      Http2Headers head(String scheme) {
        return request("GET", scheme, "z.test", "/not-a-tunnel").add(Http2Headers.PseudoHeaderName.PROTOCOL.value(), "websocket");
      }
    },
    WEBSOCKET_CONNECT_WITHOUT_AUTHORITY("CONNECT", "/chat") {
      @Override
      Http2Headers head(String scheme) {
        Http2Headers head = new DefaultHttp2Headers(false).method("CONNECT").scheme(scheme).path("/chat");
        return head.add(Http2Headers.PseudoHeaderName.PROTOCOL.value(), "websocket");
      }
    };

    final String method;
    final String path;

    Malformed(String method, String path) {
      this.method = method;
      this.path = path;
    }

    abstract Http2Headers head(String scheme);
  }

  static Stream<Arguments> cases() {
    return Arrays.stream(Malformed.values()).flatMap(m -> Stream.of(Arguments.of(m, false), Arguments.of(m, true)));
  }

  @ParameterizedTest(name = "{0} tls {1}")
  @MethodSource("cases")
  void aMalformedHeadGetsTheProxysOwn400(Malformed malformed, boolean tls) throws Exception {
    FrameClient client = connect(tls);

    client.open(malformed.head(scheme(tls)), true);

    assertRefused(client, 400, MalformedHead.MALFORMED, malformed.method, malformed.path, tls);
  }

  /** RFC 9113, section 8.3.1: an https or http request without :authority or host is malformed, not misdirected. */
  @ParameterizedTest(name = "tls {0}")
  @ValueSource(booleans = {false, true})
  void aRequestNamingNoHostGets400MissingHost(boolean tls) throws Exception {
    FrameClient client = connect(tls);

    client.open(new DefaultHttp2Headers().method("GET").scheme(scheme(tls)).path("/no-host"), true);

    assertRefused(client, 400, "missing_host", "GET", "/no-host", tls);
  }

  /** Two hosts and no :authority: which names the target is ambiguous, as two Host lines are in HTTP/1.1. */
  @ParameterizedTest(name = "tls {0}")
  @ValueSource(booleans = {false, true})
  void twoHostsWithoutAuthorityGet400MultipleHost(boolean tls) throws Exception {
    FrameClient client = connect(tls);

    client.open(new DefaultHttp2Headers(false).method("GET").scheme(scheme(tls)).path("/two-hosts")
      .add("host", "z.test").add("host", "elsewhere.test"), true);

    assertRefused(client, 400, MalformedHead.MULTIPLE_HOST, "GET", "/two-hosts", tls);
  }

  /**
   * An extended CONNECT (RFC 8441) for another protocol than websocket: not carried (501), or, where the front
   * end never offered extended CONNECT (Vert.x's streams only), malformed (RFC 8441, section 3).
   */
  @ParameterizedTest(name = "tls {0}")
  @ValueSource(booleans = {false, true})
  void anExtendedConnectForAnotherProtocolIsRefused(boolean tls) throws Exception {
    FrameClient client = connect(tls);
    Http2Headers head = request("CONNECT", scheme(tls), "z.test", "/transport");
    head.add(Http2Headers.PseudoHeaderName.PROTOCOL.value(), "webtransport");

    client.open(head, true);

    if (FRONT_STREAMS) {
      assertRefused(client, 501, MalformedHead.UNSUPPORTED_PROTOCOL, "CONNECT", "/transport", tls);
    } else {
      assertRefused(client, 400, MalformedHead.MALFORMED, "CONNECT", "/transport", tls);
    }
  }

  /**
   * A malformed head whose body is on its way: the answer, then RST_STREAM(NO_ERROR) to stop the upload (RFC
   * 9113, section 8.1); the DATA the client sent meanwhile draws no reset of its own.
   */
  @ParameterizedTest(name = "tls {0}")
  @ValueSource(booleans = {false, true})
  void aMalformedUploadIsAnsweredThenToldToStop(boolean tls) throws Exception {
    FrameClient client = connect(tls);

    Http2FrameStream upload = client.open(new DefaultHttp2Headers().method("POST").authority("z.test")
      .path("/upload"), false);
    client.send(upload, "part of a body".getBytes(StandardCharsets.US_ASCII), false);

    Http2Headers answer = client.head();
    assertEquals("400", answer.status().toString());
    assertEquals(MalformedHead.MALFORMED, answer.get("muxgate-error").toString());
    assertEquals("error code: 400", client.body());
    assertEquals(0, client.awaitReset(), "RST_STREAM(NO_ERROR) after the answer");
    assertEquals(List.of("HEADERS", "DATA end", "RST_STREAM 0"), client.framesOf(upload));

    assertServesOn(client, tls);
  }

  private void assertRefused(FrameClient client, int status, String reason, String method, String path, boolean tls)
    throws Exception {
    Http2Headers answer = client.head();
    assertEquals(Integer.toString(status), answer.status().toString());
    assertEquals(reason, answer.get("muxgate-error").toString());
    assertEquals("error code: " + status, client.body());

    Await.until(() -> !proxy.records().isEmpty(), "the access record");
    ExchangeRecord record = proxy.records().get(0);
    assertEquals(status, record.status());
    assertEquals(reason, record.error());
    assertNull(record.zone());
    assertEquals(method, record.method());
    assertEquals(path, record.path());
    assertEquals("HTTP/2", record.clientProtocol());
    assertNull(record.origin());
    assertEquals(1, new AdminApi(scope.vertx(), proxy.adminPort())
      .metric("muxgate_requests_total", "code=\"" + status + "\",zone=\"\""));

    assertServesOn(client, tls);
  }

  /** Only that stream was refused: the connection serves the next request, and no origin saw the first. */
  private void assertServesOn(FrameClient client, boolean tls) throws Exception {
    client.open(request("GET", scheme(tls), "z.test", "/next"), true);
    assertEquals("200", client.head().status().toString());
    assertEquals("hello", client.body());
    assertEquals(1, origin.requests(), "the malformed request reached no origin");
  }

  /** An origin answering "hello", the proxy in front of it for z.test, and a frame-level client to it. */
  private FrameClient connect(boolean tls) throws Exception {
    origin = scope.startOrigin(TestOrigin.Mode.H2C);
    proxy = scope.startProxy("z", origin.url(), null);
    return FrameClient.connect(scope, scope.nettyGroup(), tls ? proxy.httpsPort() : proxy.httpPort(), tls);
  }

  private static String scheme(boolean tls) {
    return tls ? "https" : "http";
  }

  /** A head with the four pseudo-headers as given, unchecked (a client library would refuse some). */
  private static Http2Headers request(String method, String scheme, String authority, String path) {
    return new DefaultHttp2Headers(false).method(method).scheme(scheme).authority(authority).path(path);
  }
}
