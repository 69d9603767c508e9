package io.muxgate.forward;

import io.netty.util.AsciiString;
import io.vertx.core.http.HttpMethod;

import java.util.ArrayList;
import java.util.List;

/**
 * Judges a request target as the client sent it (HTTP/1.x request line or HTTP/2 {@code :path}) before
 * anything routes by it. What passes is origin-form, or absolute-form naming an http(s) host (RFC 9112,
 * section 3.2); anything else an origin might read otherwise than the proxy did.
 */
final class RequestTarget {

  static final String TOO_LONG = "request_uri_too_long";
  static final String BAD = "bad_request_target";
  private static final AsciiString HTTP = AsciiString.cached("http");
  private static final AsciiString HTTPS = AsciiString.cached("https");

  private RequestTarget() {
  }

  /**
   * Why {@code target}, of a request with {@code method}, cannot be served ({@link #TOO_LONG} or
   * {@link #BAD}), or null. {@code h2Scheme} is the {@code :scheme} of an HTTP/2 request, null over HTTP/1.x
   * (and for an HTTP/2 CONNECT, which has none). A null target is an HTTP/2 request without {@code :path}.
   */
  static String fault(String target, HttpMethod method, CharSequence h2Scheme) {
    if (target == null) {
      // An HTTP/2 CONNECT without :path (RFC 9113, section 8.5) asks for a tunnel to its :authority,
      // which is not a resource of the zone; RFC 8441's WebSocket CONNECT names a path.
      return BAD;
    }
    if (target.equals("*")) {
      return method == HttpMethod.OPTIONS ? null : BAD;   // RFC 9112, section 3.2.4
    }
    if (h2Scheme != null && method != HttpMethod.CONNECT && !target.startsWith("/")) {
      return BAD;   // RFC 9113, section 8.3.1: a :path is a path, not a URL
    }
    if (h2Scheme != null && !AsciiString.contentEqualsIgnoreCase(h2Scheme, HTTP)
      && !AsciiString.contentEqualsIgnoreCase(h2Scheme, HTTPS)) {
      // RFC 9113, section 8.3.1 lets a gateway translate other schemes; Muxgate has nothing to translate to.
      return BAD;
    }
    return fault(target);
  }

  private static String fault(String target) {
    if (target.length() > Forwarder.MAX_REQUEST_TARGET_CHARS) {
      // The HTTP/1.x codec refuses a longer request line itself; an HTTP/2 :path is bounded only by the list.
      return TOO_LONG;
    }
    for (int i = 0, n = target.length(); i < n; i++) {
      char c = target.charAt(i);
      // Control characters and spaces are never part of a URI (RFC 3986), and a request target has no
      // fragment: that is for the client alone (RFC 9110, section 4.2.5; HAProxy refuses it too).
      if (c <= ' ' || c == 0x7f || c == '#') {
        return BAD;
      }
    }
    if (!target.isEmpty() && target.charAt(0) == '/') {
      return null;
    }
    // RFC 9112, section 3.2: else an absolute URL. CONNECT's authority-form asks for a tunnel, which no zone
    // offers, and a bare word is no target: an origin would refuse either, a failure counted against it.
    int scheme = target.indexOf("://");
    return scheme > 0 && absoluteTargetIsServable(target, scheme) ? null : BAD;
  }

  /**
   * RFC 9110, section 4.2: a proxy in front of origins serves http and https URIs only; one of those
   * has a host that is not empty and no userinfo, which the host a zone is picked by must not hide.
   */
  private static boolean absoluteTargetIsServable(String target, int schemeEnd) {
    String scheme = target.substring(0, schemeEnd);
    if (!scheme.equalsIgnoreCase("http") && !scheme.equalsIgnoreCase("https")) {
      return false;
    }
    int start = schemeEnd + 3;
    int end = start;
    while (end < target.length() && target.charAt(end) != '/' && target.charAt(end) != '?') {
      if (target.charAt(end) == '@') {
        return false;
      }
      end++;
    }
    return end > start && target.charAt(start) != ':';   // a host, not just a port
  }

  /**
   * {@code uri} (origin form) with the dot segments of its path resolved as RFC 3986, section 5.2.4 does;
   * the same instance when it has none. Routes match, and origins get, the resolved path: otherwise
   * {@code /public/../admin/x} would match the {@code /public/} route and reach its origin, which resolves
   * it to {@code /admin/x} (nginx resolves them too; Envoy with {@code normalize_path}). A percent-encoded
   * dot counts as a dot, as browsers and many origins' frameworks read it. {@code //} is left alone.
   */
  static String withoutDotSegments(String uri) {
    if (uri == null || uri.isEmpty() || uri.charAt(0) != '/') {
      return uri;   // "*" of OPTIONS; an HTTP/2 CONNECT's missing :path
    }
    int end = uri.indexOf('?');
    if (end < 0) {
      end = uri.length();
    }
    if (!hasDotSegment(uri, end)) {
      return uri;
    }
    List<String> segments = new ArrayList<>();
    int start = 1;
    boolean last;
    do {
      int stop = uri.indexOf('/', start);
      last = stop < 0 || stop >= end;
      if (last) {
        stop = end;
      }
      int dots = dots(uri, start, stop);
      if (dots == 2 && !segments.isEmpty()) {
        segments.remove(segments.size() - 1);
      }
      if (dots == 0) {
        segments.add(uri.substring(start, stop));
      } else if (last) {
        segments.add("");   // "/a/b/.." is "/a/": the path still names a directory
      }
      start = stop + 1;
    } while (!last);
    return "/" + String.join("/", segments) + uri.substring(end);
  }

  /**
   * {@code uri} (origin form) with the percent-encoded unreserved characters of its path decoded, the same
   * instance when it has none. RFC 3986, section 6.2.2.2 (RFC 9110, section 4.2.3) makes {@code /%61dmin/}
   * the same path as {@code /admin/}, and origins read it so: matched encoded, it would miss the
   * {@code /admin/} route and reach another origin that serves it. Reserved characters ({@code %2F}) and
   * the query stay as they came.
   */
  static String withUnreservedDecoded(String uri) {
    if (uri == null) {
      return null;   // an HTTP/2 CONNECT's missing :path
    }
    int escape = uri.indexOf('%');
    if (escape < 0) {
      return uri;
    }
    int end = uri.indexOf('?');
    if (end < 0) {
      end = uri.length();
    }
    StringBuilder decoded = null;
    int copied = 0;
    for (int i = escape; i + 2 < end; i++) {
      if (uri.charAt(i) != '%') {
        continue;
      }
      int high = Character.digit(uri.charAt(i + 1), 16);
      int low = Character.digit(uri.charAt(i + 2), 16);
      char c = (char) (high << 4 | low);
      if (high >= 0 && low >= 0 && isUnreserved(c)) {
        if (decoded == null) {
          decoded = new StringBuilder(uri.length());
        }
        decoded.append(uri, copied, i).append(c);
        copied = i + 3;
        i += 2;
      }
    }
    return decoded == null ? uri : decoded.append(uri, copied, uri.length()).toString();
  }

  /** RFC 3986, section 2.3. */
  private static boolean isUnreserved(char c) {
    return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
      || c == '-' || c == '.' || c == '_' || c == '~';
  }

  /** The path of an origin-form {@code uri}: what comes before its query. */
  static String pathOf(String uri) {
    int query = uri.indexOf('?');
    return query < 0 ? uri : uri.substring(0, query);
  }

  private static boolean hasDotSegment(String uri, int end) {
    for (int i = 0; i < end; i++) {
      if (uri.charAt(i) == '/' && i + 1 < end && (uri.charAt(i + 1) == '.' || uri.charAt(i + 1) == '%')) {
        int stop = uri.indexOf('/', i + 1);
        if (dots(uri, i + 1, stop < 0 || stop > end ? end : stop) > 0) {
          return true;
        }
      }
    }
    return false;
  }

  /** 1 for a segment that is ".", 2 for "..", with "%2e" for any dot; 0 for any other segment. */
  private static int dots(String uri, int from, int to) {
    int dots = 0;
    int i = from;
    while (i < to && dots < 3) {
      if (uri.charAt(i) == '.') {
        i++;
      } else if (uri.startsWith("%2", i) && i + 2 < to && (uri.charAt(i + 2) | 0x20) == 'e') {
        i += 3;
      } else {
        return 0;
      }
      dots++;
    }
    return i == to && dots <= 2 ? dots : 0;
  }
}
