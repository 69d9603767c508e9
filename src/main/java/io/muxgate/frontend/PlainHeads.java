package io.muxgate.frontend;

import io.netty.handler.codec.http.HttpHeaderValidationUtil;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;
import io.vertx.core.http.HttpHeaders;

/**
 * Which client request heads {@link FrontStreams} carries on a {@link FrontStream} of its own: the plain
 * ones. The rest are answered by {@link RefusedHeads} if no stream can carry them, or go to Vert.x's server:
 * CONNECT other than RFC 8441's WebSocket, and a {@code host} that names another entity than
 * {@code :authority} ({@link HostBesideAuthority}). A request with {@code expect: 100-continue} is plain: its
 * stream sends the 100 when the origin's comes, and holds what the client sends before it within the budget
 * of held upload bytes, which Vert.x's server's own queue would not.
 */
final class PlainHeads {

  private static final AsciiString CONNECT = AsciiString.cached("CONNECT");
  private static final AsciiString WEBSOCKET = AsciiString.cached("websocket");
  private static final AsciiString CONTINUE = AsciiString.cached("100-continue");

  private PlainHeads() {
  }

  /**
   * Whether the head that opens a stream is plain; a {@code host} beside {@code :authority} that names the
   * same entity is settled (removed from {@code head}) on the way.
   */
  static boolean isPlain(Http2Headers head) {
    // A method that is no token is malformed (RFC 9113, section 8.1.1); Vert.x's server would throw on it
    // and take the whole connection down with a GOAWAY.
    if (badMethod(head.method())) {
      return false;
    }
    boolean host = head.contains(HttpHeaders.HOST);
    if (host && head.authority() != null) {
      host = !HostBesideAuthority.settle(head);
    }
    CharSequence expect = head.get(HttpHeaders.EXPECT);
    if (expect != null && !CONTINUE.contentEquals(expect) && CONTINUE.contentEqualsIgnoreCase(expect)) {
      // The value is case-insensitive (RFC 9110, section 10.1.1), but Node's HTTP/2 server compares it as
      // written and answers any other spelling (the JDK's HttpClient sends 100-Continue) 417; the head goes
      // to an HTTP/2 origin as it is.
      head.set(HttpHeaders.EXPECT, CONTINUE);
    }
    return plain(head, host);
  }

  /** {@code host}: whether the head still has a Host header. */
  private static boolean plain(Http2Headers headers, boolean host) {
    CharSequence method = headers.method();
    CharSequence path = headers.path();
    if (method == null || headers.scheme() == null || path == null || path.length() == 0) {
      return false;
    }
    if (CONNECT.contentEquals(method)) {
      // Only RFC 8441's extended CONNECT (a WebSocket), which names its :authority and carries no Host.
      CharSequence protocol = headers.get(Http2Headers.PseudoHeaderName.PROTOCOL.value());
      return protocol != null && AsciiString.contentEqualsIgnoreCase(protocol, WEBSOCKET)
        && headers.authority() != null && !host;
    }
    if (headers.contains(Http2Headers.PseudoHeaderName.PROTOCOL.value())) {
      return false; // MalformedHead refuses it outside a CONNECT
    }
    // Without :authority, exactly one host names the target; two are refused (MalformedHead.MULTIPLE_HOST).
    return headers.authority() == null ? host && headers.getAll(HttpHeaders.HOST).size() == 1 : !host;
  }

  /** Whether {@code method} is present and not an HTTP token (RFC 9110, section 9.1), such as {@code "G T"}. */
  private static boolean badMethod(CharSequence method) {
    return method != null && (method.length() == 0 || HttpHeaderValidationUtil.validateToken(method) >= 0);
  }
}
