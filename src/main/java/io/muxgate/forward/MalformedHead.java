package io.muxgate.forward;

import io.netty.handler.codec.http.HttpHeaderValidationUtil;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.net.impl.HostAndPortImpl;
import java.util.List;

/**
 * Judges an HTTP/2 request head that Netty's codec let through but that no stream can carry: Vert.x 5.0.10's
 * server resets it with PROTOCOL_ERROR (or, for a method that is no token, throws and ends the connection)
 * before any of Muxgate's code sees it, so nothing would log or count it. The front end answers these
 * itself instead ({@link Forwarder#refuseHead}), as it does a {@code :protocol} outside a CONNECT, which
 * Vert.x would forward without it. What the codec refuses on its own (upper-case or
 * connection-specific header names, {@code te} other than {@code trailers}, unknown, repeated, misplaced or
 * empty pseudo-headers, control characters in values, a {@code content-length} that is no number) never
 * reaches here.
 */
public final class MalformedHead {

  /** A head RFC 9113, section 8.1.1 (or RFC 8441's extended CONNECT) calls malformed: 400. */
  public static final String MALFORMED = "malformed_request";
  /** An extended CONNECT (RFC 8441) for a protocol the front end does not carry: 501. */
  public static final String UNSUPPORTED_PROTOCOL = "unsupported_protocol";
  /** Two {@code host} fields and no {@code :authority}: which one names the target is anyone's guess. 400. */
  public static final String MULTIPLE_HOST = "multiple_host";
  private static final AsciiString CONNECT = AsciiString.cached("CONNECT");
  private static final AsciiString WEBSOCKET = AsciiString.cached("websocket");

  private MalformedHead() {
  }

  /**
   * Why no stream can carry {@code head}, the first HEADERS of a client stream, or null if Vert.x's server or
   * the front end's own streams take it. {@code extendedConnect}: whether this connection offered RFC 8441 and
   * carries its WebSocket. A WebSocket CONNECT only gets here when the front end did not take it.
   */
  public static String fault(Http2Headers head, boolean extendedConnect) {
    CharSequence method = head.method();
    if (method == null || method.length() == 0 || HttpHeaderValidationUtil.validateToken(method) >= 0) {
      return MALFORMED;
    }
    CharSequence authority = head.authority();
    CharSequence protocol = head.get(Http2Headers.PseudoHeaderName.PROTOCOL.value());
    if (CONNECT.contentEquals(method)) {
      if (protocol == null) {
        // RFC 9113, section 8.5: a tunnel's CONNECT names its :authority and has no :scheme or :path.
        return authority == null || head.scheme() != null || head.path() != null || !valid(authority)
          ? MALFORMED : null;
      }
      // RFC 8441, section 4: all three; section 3: without the setting offered, the request is malformed.
      if (!extendedConnect || head.scheme() == null || head.path() == null || authority == null || !valid(authority)) {
        return MALFORMED;
      }
      if (!AsciiString.contentEqualsIgnoreCase(protocol, WEBSOCKET)) {
        return UNSUPPORTED_PROTOCOL;
      }
      return hostMismatch(head) ? AuthorityMatch.HOST_MISMATCH : null;
    }
    // RFC 8441, section 4 defines :protocol for CONNECT only; RFC 9113, section 8.3 calls a pseudo-header
    // that does not belong malformed. Netty's codec knows it as a request's and lets it by.
    if (head.scheme() == null || head.path() == null || protocol != null) {
      return MALFORMED;
    }
    // RFC 9113, section 8.3.1: :authority names the target; one that is no authority (a space, userinfo) is
    // not replaced by a host beside it, as Vert.x would.
    if (authority != null) {
      return !valid(authority) ? MALFORMED : hostMismatch(head) ? AuthorityMatch.HOST_MISMATCH : null;
    }
    // RFC 9113, section 8.3.1 leaves host to play :authority's part; like HTTP/1.1's Host (RFC 9112,
    // section 3.2), two of them are malformed: a proxy and its origin could each pick another.
    List<CharSequence> hosts = head.getAll(HttpHeaders.HOST);
    if (hosts.size() > 1) {
      return MULTIPLE_HOST;
    }
    return hosts.isEmpty() || valid(hosts.get(0)) ? null : MALFORMED;
  }

  /** The status that answers {@code reason}, one of {@link #fault}'s. */
  public static int status(String reason) {
    return reason.equals(UNSUPPORTED_PROTOCOL) ? 501 : 400;
  }

  /**
   * Whether a {@code host} beside the (valid) {@code :authority} names another entity (RFC 9113, section
   * 8.3.1). One that names the same entity has been dropped already, wherever the front end took the head.
   */
  private static boolean hostMismatch(Http2Headers head) {
    return head.contains(HttpHeaders.HOST) && !AuthorityMatch.hostsNameAuthority(head);
  }

  /** A host and port, the host not empty (RFC 9110, section 4.2.1: an http URI with an empty host is invalid). */
  private static boolean valid(CharSequence authority) {
    return authority.length() > 0 && authority.charAt(0) != ':' && HostAndPortImpl.isValidAuthority(authority.toString());
  }
}
