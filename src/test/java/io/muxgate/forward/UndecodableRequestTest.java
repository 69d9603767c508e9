package io.muxgate.forward;

import io.muxgate.observe.ExchangeRecord;
import io.muxgate.support.Await;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.RawHttp;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * HTTP/1.1 requests the proxy refuses — undecodable, without Host, with a body over the limit, with a
 * Transfer-Encoding that leaves the body's end ambiguous — get its own refusal (status, {@code muxgate-error},
 * {@code error code: NNN} body) and their connection closes (the tests read to the close); none reaches an
 * origin. So does a chunked body that breaks its framing, though its head may have gone on already.
 */
class UndecodableRequestTest {

  @RegisterExtension
  final TestScope scope = new TestScope();
  private ProxyHarness proxy;
  private TestOrigin origin;

  @BeforeEach
  void setUp() {
    origin = scope.startOrigin(TestOrigin.Mode.H2C);
    proxy = scope.startProxy("z", origin.url(), null);
  }

  @Test
  void aHeaderBlockOverTheLimitGets431() throws IOException {
    // As curl sends them: Host first, then others before the caller's own.
    String answer = RawHttp.exchange(proxy.httpPort(),
      "GET / HTTP/1.1\r\nHost: z.test\r\nAccept: */*\r\nX-Big: " + "a".repeat(40_000) + "\r\n\r\n");

    assertRefused(answer, 431, "request_headers_too_large");
    assertEquals("z", proxy.lastRecord("/").zone(), "the Host read before the cut names the zone");
  }

  @Test
  void aRequestLineOverTheLimitGets414() throws IOException {
    String answer = RawHttp.exchange(proxy.httpPort(), "GET /" + "a".repeat(20_000) + " HTTP/1.1\r\nHost: z.test\r\n\r\n");

    assertRefused(answer, 414, "request_uri_too_long");
    assertLoggedWithoutMethodOrPath();
  }

  /** Another major version in an HTTP/1.x request line: 505, in HTTP/1.1 (Vert.x alone said "HTTP/2.0 501"). */
  @ParameterizedTest
  @ValueSource(strings = {"HTTP/2.0", "HTTP/3.0", "HTTP/0.9"})
  void anotherMajorVersionGets505(String version) throws IOException {
    String answer = RawHttp.exchange(proxy.httpPort(), "GET / " + version + "\r\nHost: z.test\r\n\r\n");

    assertRefused(answer, 505, "http_version_not_supported");
  }

  /** RFC 9110, section 2.5: a later HTTP/1 minor version is served as the highest this side knows. */
  @Test
  void aLaterMinorVersionIsServedAsHttp11() throws IOException {
    origin.handler(req -> req.response().end("ok"));
    String answer = RawHttp.exchange(proxy.httpPort(), "GET / HTTP/1.2\r\nHost: z.test\r\nConnection: close\r\n\r\n");

    assertTrue(answer.startsWith("HTTP/1.1 200 "), answer);
    assertTrue(answer.endsWith("\r\n\r\nok"), answer);
  }

  /** Netty hands such a request up as HTTP/1.0, its version unread; the proxy still answers in HTTP/1.1. */
  @Test
  void aRequestLineThatIsNotHttpGets400() throws IOException {
    String answer = RawHttp.exchange(proxy.httpPort(), "hello there\r\n\r\n");

    assertRefused(answer, 400, "bad_request");
    assertLoggedWithoutMethodOrPath();
  }

  /**
   * A client that closes in the middle of its head is answered nothing, and logged so: 400 as nginx logs it
   * (HAProxy: BADREQ, CR--), with no byte sent rather than the body of an answer that had nowhere to go.
   */
  @Test
  void aHeadCutByTheClientsCloseIsLoggedWithNothingSent() throws IOException {
    try (Socket socket = new Socket("127.0.0.1", proxy.httpPort())) {
      socket.getOutputStream().write("GET /cut HTTP/1.1\r\nHost: z.test\r\nAccept: */*\r\n"
        .getBytes(StandardCharsets.ISO_8859_1));
      socket.getOutputStream().flush();
    }

    Await.until(() -> proxy.lastRecord("/cut") != null, "the cut head's log line");
    ExchangeRecord logged = proxy.lastRecord("/cut");
    assertEquals(400, logged.status());
    assertEquals("client_closed", logged.error());
    assertEquals(0, logged.bytesOut());
    assertEquals(0, origin.requests());
  }

  /**
   * A request line Netty could not read reaches the proxy as its stand-in, {@code GET /bad-request}: the
   * log names no method or path rather than that one, which no client sent.
   */
  private void assertLoggedWithoutMethodOrPath() {
    Await.until(() -> !proxy.records().isEmpty(), "the refusal's log line");
    ExchangeRecord logged = proxy.records().get(proxy.records().size() - 1);
    assertNull(logged.method(), "method");
    assertNull(logged.path(), "path");
  }

  @Test
  void aControlCharacterInTheTargetGets400() throws IOException {
    String answer = RawHttp.exchange(proxy.httpPort(), "GET /a\u0001b HTTP/1.1\r\nHost: z.test\r\n\r\n");

    assertRefused(answer, 400, "bad_request_target");
  }

  /**
   * A header line with no name before its colon is no field (RFC 9110, section 5.1): HAProxy and nginx answer
   * 400. Vert.x's parser lets it by; forwarded, it reached an HTTP/1.1 origin as {@code : b}, and an HTTP/2
   * origin's head could not be built at all, which left the request unanswered.
   */
  @Test
  void anEmptyHeaderNameGets400() throws IOException {
    String answer = RawHttp.exchange(proxy.httpPort(), "GET / HTTP/1.1\r\nHost: z.test\r\n: b\r\n\r\n");

    assertRefused(answer, 400, "bad_request");
  }

  @Test
  void somethingThatIsNotHttpGets400() throws IOException {
    String answer = RawHttp.exchange(proxy.httpPort(), "GET / HTTP/1.1\r\nHost: z.test\r\nBad Header Without Colon\r\n\r\n");

    assertRefused(answer, 400, "bad_request");
  }

  @Test
  void aRequestBodyOverTheLimitGets413AndTheConnectionCloses() throws IOException {
    String answer = RawHttp.exchange(proxy.httpPort(), "POST / HTTP/1.1\r\nHost: z.test\r\nContent-Length: 200000000\r\n\r\nabc");

    assertRefused(answer, 413, "request_body_too_large");
  }

  /** The connection closes after the refusal, and the answer says so to a client that asked for keep-alive. */
  @Test
  void anHttp10KeepAliveRequestRefusedIsToldTheConnectionCloses() throws IOException {
    String answer = RawHttp.exchange(proxy.httpPort(), "POST / HTTP/1.0\r\nHost: z.test\r\nConnection: keep-alive\r\n"
      + "Content-Length: 200000000\r\n\r\nabc");

    assertRefused(answer, 413, "request_body_too_large");
    assertTrue(answer.toLowerCase(Locale.ROOT).contains("\r\nconnection: close\r\n"), answer);
  }

  @Test
  void anHttp11RequestWithoutHostGets400() throws IOException {
    String answer = RawHttp.exchange(proxy.httpPort(), "GET / HTTP/1.1\r\n\r\n");

    assertRefused(answer, 400, "missing_host");
  }

  /**
   * RFC 9110, section 4.2.1: an http URI with an empty host is invalid, so an empty Host, port or not, is
   * refused as a missing one (as nginx does), not taken for a host no zone claims (421).
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"HTTP/1.1\r\nHost: ", "HTTP/1.1\r\nHost: :80", "HTTP/1.0\r\nHost: "})
  void anEmptyHostGets400(String versionAndHost) throws IOException {
    String answer = RawHttp.exchange(proxy.httpPort(), "GET / " + versionAndHost + "\r\nConnection: close\r\n\r\n");

    assertRefused(answer, 400, "missing_host");
  }

  /**
   * RFC 9112, section 3.2: a Host that is no host and port is refused 400 on any request, not only on
   * HTTP/1.1 (HTTP/1.0 ones got 421, as if they named no host); so is an absolute-form target's authority.
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"/ HTTP/1.0\r\nHost: z.test:abc", "/ HTTP/1.0\r\nHost: z.test:99999", "/ HTTP/1.0\r\nHost: [::1",
    "http://z.test:abc/ HTTP/1.0", "/ HTTP/1.1\r\nHost: z.test:abc", "http://z.test:99999/ HTTP/1.1\r\nHost: z.test"})
  void aHostThatIsNoHostAndPortGets400(String targetVersionAndHost) throws IOException {
    String answer = RawHttp.exchange(proxy.httpPort(), "GET " + targetVersionAndHost + "\r\nConnection: close\r\n\r\n");

    assertRefused(answer, 400, "missing_host");
  }

  @Test
  void aRequestWithTwoHostsGets400() throws IOException {
    String answer = RawHttp.exchange(proxy.httpPort(), "GET / HTTP/1.1\r\nHost: z.test\r\nHost: other.test\r\n\r\n");

    assertRefused(answer, 400, "multiple_host");
  }

  /**
   * Transfer-Encoding the codec would read one way and a proxy in front another (request smuggling): the
   * body bytes here are a second request, which must not be served.
   */
  @ParameterizedTest(name = "Transfer-Encoding: [{0}]")
  @ValueSource(strings = {"gzip", "identity", "xchunked", "chunked, identity", "chunked, chunked", ""})
  void aTransferEncodingThatDoesNotEndInOneChunkedGets400(String codings) throws IOException {
    String answer = RawHttp.exchange(proxy.httpPort(), "POST / HTTP/1.1\r\nHost: z.test\r\nTransfer-Encoding: " + codings + "\r\n\r\n"
      + "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: z.test\r\n\r\n");

    assertRefused(answer, 400, "bad_transfer_encoding");
  }

  @Test
  void twoTransferEncodingLinesAreReadAsOneList() throws IOException {
    String answer = RawHttp.exchange(proxy.httpPort(), "POST / HTTP/1.1\r\nHost: z.test\r\nTransfer-Encoding: chunked\r\n"
      + "Transfer-Encoding: identity\r\n\r\n0\r\n\r\n");

    assertRefused(answer, 400, "bad_transfer_encoding");
  }

  /** RFC 9112, section 6.1: a server MUST close after such a request; refusing it is allowed and safer. */
  @Test
  void contentLengthBesideChunkedGets400() throws IOException {
    String answer = RawHttp.exchange(proxy.httpPort(), "POST / HTTP/1.1\r\nHost: z.test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n"
      + "\r\n0\r\n\r\nGET /second HTTP/1.1\r\nHost: z.test\r\n\r\n");

    assertRefused(answer, 400, "bad_transfer_encoding");
  }

  @Test
  void anHttp10RequestWithTransferEncodingGets400() throws IOException {
    String answer = RawHttp.exchange(proxy.httpPort(), "POST / HTTP/1.0\r\nHost: z.test\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");

    assertRefused(answer, 400, "bad_transfer_encoding");
  }

  @Test
  void aCodingBesideChunkedGets501() throws IOException {
    String answer = RawHttp.exchange(proxy.httpPort(), "POST / HTTP/1.1\r\nHost: z.test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
      + "3\r\nabc\r\n0\r\n\r\n");

    assertRefused(answer, 501, "unsupported_transfer_coding");
  }

  /** RFC 9112, section 7.1.1: chunk extensions may have unquoted token values (Netty 4.2.12 dropped the connection). */
  @Test
  void aChunkedUploadWithExtensionsIsServed() throws IOException {
    String answer = RawHttp.exchange(proxy.httpPort(), "POST / HTTP/1.1\r\nHost: z.test\r\nTransfer-Encoding: chunked\r\n"
      + "Connection: close\r\n\r\n3;a=b\r\nabc\r\n0;x=1\r\n\r\n");

    assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
    assertEquals(1, origin.requests());
  }

  @Test
  void aChunkedUploadIsServed() throws IOException {
    String answer = RawHttp.exchange(proxy.httpPort(), "POST / HTTP/1.1\r\nHost: z.test\r\nTransfer-Encoding: Chunked\r\n"
      + "Connection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n");

    assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
    assertEquals(1, origin.requests());
  }

  /**
   * A chunked body whose framing breaks (a size that is not hex, a chunk longer than its size, a trailer
   * section line that is no field) cannot be read any further: its request, forwarded or not yet, gets 400
   * and the connection closes. Before, the connection closed with no answer and the access log blamed the
   * client (499).
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"zz\r\nhello\r\n0\r\n\r\n", "5\r\nhelloXX\r\n0\r\n\r\n",
    "3\r\nabc\r\nxyz\r\nhello\r\n0\r\n\r\n", "3\r\nabc\r\n0\r\nno colon\r\n\r\n", "3\r\nabc\r\n0\r\nX-T : 1\r\n\r\n"})
  void aChunkedBodyThatBreaksItsFramingGets400(String body) throws IOException {
    String answer = RawHttp.exchange(proxy.httpPort(), "POST / HTTP/1.1\r\nHost: z.test\r\nTransfer-Encoding: chunked\r\n\r\n" + body);

    assertAnswered(answer, "HTTP/1.1", 400, "bad_request");
  }

  /** In HTTP/1.1 whatever the request's version, or where its line could not be read (RFC 9110, section 6.2). */
  private void assertRefused(String answer, int status, String reason) {
    assertAnswered(answer, "HTTP/1.1", status, reason);
    assertEquals(0, origin.requests());
  }

  private static void assertAnswered(String answer, String version, int status, String reason) {
    assertTrue(answer.startsWith(version + " " + status + " "), answer);
    assertTrue(answer.toLowerCase(Locale.ROOT).contains("\r\nmuxgate-error: " + reason + "\r\n"), answer);
    assertTrue(answer.endsWith("\r\n\r\nerror code: " + status), answer);
  }

  /** Sends {@code request} raw and reads until the proxy closes the connection. */
}
