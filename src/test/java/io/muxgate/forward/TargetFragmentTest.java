package io.muxgate.forward;

import io.muxgate.support.FrameClient;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A request target has no fragment (RFC 9112, section 3.2; RFC 9113, section 8.3.1: :path is origin-form):
 * a {@code #} in one is refused with 400 {@code bad_request_target}, as HAProxy does, rather than passed
 * to an origin that may read the path otherwise than the proxy routed it.
 */
class TargetFragmentTest {

  @RegisterExtension
  final TestScope scope = new TestScope();
  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private TestOrigin origin;
  private ProxyHarness proxy;

  @BeforeEach
  void setUp() {
    scope.track(() -> group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly());
    origin = scope.startOrigin(TestOrigin.Mode.H2C);
    proxy = scope.startProxy("z", origin.url(), null);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"/page#top", "/page?q=1#top", "/#", "http://z.test/page#top", "http://z.test#top"})
  void anHttp11TargetWithAFragmentGets400(String target) throws IOException {
    String answer = exchange("GET " + target + " HTTP/1.1\r\nHost: z.test\r\n\r\n");

    assertTrue(answer.startsWith("HTTP/1.1 400"), answer);
    assertTrue(answer.toLowerCase(Locale.ROOT).contains("\r\nmuxgate-error: bad_request_target\r\n"), answer);
    assertTrue(answer.endsWith("\r\n\r\nerror code: 400"), answer);
    assertEquals(0, origin.requests(), "the origin saw " + (origin.requests() > 0 ? origin.received().get(0).uri() : ""));
  }

  @ParameterizedTest(name = "tls {0}")
  @ValueSource(booleans = {false, true})
  void anHttp2PathWithAFragmentGets400(boolean tls) throws Exception {
    FrameClient client = FrameClient.connect(scope, group, tls ? proxy.httpsPort() : proxy.httpPort(), tls);

    client.open(new DefaultHttp2Headers().method("GET").scheme(tls ? "https" : "http").authority("z.test")
      .path("/page#top"), true);

    assertRefused(client);
    assertEquals("error code: 400", client.body());

    client.open(new DefaultHttp2Headers().method("GET").scheme(tls ? "https" : "http").authority("z.test")
      .path("/page"), true);
    assertEquals("200", client.head().status().toString(), "the connection serves on");
    assertEquals("/page", origin.received().get(0).uri());
  }

  /**
   * RFC 9113, section 8.3.1: an HTTP/2 {@code :path} is a path (or {@code *} for OPTIONS), never a URL
   * or a bare word, which an origin would read its own way.
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"http://z.test/page", "page", "*"})
  void anHttp2PathThatIsNoPathGets400(String path) throws Exception {
    FrameClient client = FrameClient.connect(scope, group, proxy.httpPort(), false);

    client.open(new DefaultHttp2Headers().method("GET").scheme("http").authority("z.test").path(path), true);

    assertRefused(client);
  }

  /**
   * RFC 9113, section 8.3.1 lets a gateway translate an HTTP/2 request for another scheme; Muxgate serves
   * http and https only, and an origin handed {@code ftp} would take it for one of those.
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"ftp", "ws", "file"})
  void anHttp2SchemeOtherThanHttpGets400(String scheme) throws Exception {
    FrameClient client = FrameClient.connect(scope, group, proxy.httpPort(), false);

    client.open(new DefaultHttp2Headers().method("GET").scheme(scheme).authority("z.test").path("/page"), true);

    assertRefused(client);
  }

  /**
   * An HTTP/2 CONNECT other than RFC 8441's WebSocket has no {@code :path} (RFC 9113, section 8.5): it asks
   * for a tunnel, which has no path to route by. It is refused at once, not left unanswered with the
   * stream open (the forwarder once failed on the missing target, logging a stack trace per request).
   */
  @ParameterizedTest(name = "tls {0}")
  @ValueSource(booleans = {false, true})
  void anHttp2ConnectWithoutPathGets400(boolean tls) throws Exception {
    FrameClient client = FrameClient.connect(scope, group, tls ? proxy.httpsPort() : proxy.httpPort(), tls);

    client.open(new DefaultHttp2Headers().method("CONNECT").authority("z.test:443"), false);

    assertRefused(client);
    assertEquals("error code: 400", client.body());

    client.open(new DefaultHttp2Headers().method("GET").scheme(tls ? "https" : "http").authority("z.test")
      .path("/page"), true);
    assertEquals("200", client.head().status().toString(), "the connection serves on");
  }

  /**
   * RFC 9112, section 3.2: an HTTP/1.1 target is a path, an absolute URL, the asterisk of OPTIONS or the
   * authority of CONNECT, a tunnel no zone offers (as an HTTP/2 CONNECT without :path). A bare word or an
   * authority reached the origins once: an HTTP/2 origin reset it and an HTTP/1.1 one closed on it, a 520
   * counted against a healthy origin, which five of them in a row took out of balancing.
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"GET page", "GET api/page", "GET ?q=1", "GET z.test:443", "CONNECT z.test:443"})
  void anHttp11TargetThatIsNeitherPathNorUrlGets400(String requestLine) throws IOException {
    String answer = exchange(requestLine + " HTTP/1.1\r\nHost: z.test\r\n\r\n");

    assertTrue(answer.startsWith("HTTP/1.1 400"), answer);
    assertTrue(answer.toLowerCase(Locale.ROOT).contains("\r\nmuxgate-error: bad_request_target\r\n"), answer);
    assertEquals(0, origin.requests(), "the origin saw " + (origin.requests() > 0 ? origin.received().get(0).uri() : ""));
  }

  /** RFC 9112, section 3.2.4: the asterisk form is for OPTIONS only. */
  @Test
  void anAsteriskTargetIsForOptionsOnly() throws IOException {
    String get = exchange("GET * HTTP/1.1\r\nHost: z.test\r\n\r\n");

    assertTrue(get.startsWith("HTTP/1.1 400"), get);
    assertTrue(get.toLowerCase(Locale.ROOT).contains("\r\nmuxgate-error: bad_request_target\r\n"), get);
    assertEquals(0, origin.requests());
  }

  @Test
  void aPathWithoutFragmentIsServed() throws IOException {
    String answer = exchange("GET /page?q=%23top HTTP/1.1\r\nHost: z.test\r\n\r\n");

    assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
    assertEquals("/page?q=%23top", origin.received().get(0).uri());
  }

  private String exchange(String request) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", proxy.httpPort())) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(request.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII));
      return new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
    }
  }

  /** The next response head is the proxy's 400 bad_request_target, and nothing reached the origin. */
  private void assertRefused(FrameClient client) throws InterruptedException {
    Http2Headers head = client.head();
    assertEquals("400", head.status().toString());
    assertEquals("bad_request_target", String.valueOf(head.get("muxgate-error")));
    assertEquals(0, origin.requests());
  }
}
