package io.muxgate.forward;

import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;
import io.vertx.core.MultiMap;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Copies headers across the proxy without the hop-by-hop ones: Connection and every header it names,
 * Keep-Alive, Proxy-Connection, TE (except "trailers"), Transfer-Encoding, Upgrade, plus the h2c
 * upgrade's HTTP2-Settings and Host, which the proxy sets itself.
 */
final class Headers {

  private static final String TE = "te";
  private static final String CONTINUE = "100-continue";

  private Headers() {
  }

  /** A response's (or trailers', or hints') headers: TE is a request header only (RFC 9110, section 10.1.4). */
  static void copy(MultiMap from, MultiMap to) {
    copy(from, to, false);
  }

  /**
   * A request's headers, with {@code te: trailers} kept if the client sent it, and without Trailer: a request
   * whose headers are a MultiMap is read or sent by Vert.x, which carries no request trailers, so Trailer
   * would announce some that never come.
   */
  static void copyRequest(MultiMap from, MultiMap to) {
    copy(from, to, true);
  }

  private static void copy(MultiMap from, MultiMap to, boolean request) {
    List<String> named = connectionNamed(from);
    boolean trailersAccepted = false;
    for (Map.Entry<String, String> header : from) {
      String name = header.getKey();
      if (name.equalsIgnoreCase("te")) {
        trailersAccepted |= hasToken(header.getValue(), "trailers");
      } else if (!isHopByHop(name) && (named == null || !containsIgnoreCase(named, name))
        && !(request && name.length() == 7 && is(name, "trailer"))) {
        to.add(name, request && name.length() == 6 ? expectation(name, header.getValue()) : header.getValue());
      }
    }
    if (trailersAccepted && request) {
      // The one TE value HTTP/2 allows; gRPC origins refuse a request without it.
      to.set("te", "trailers");
    }
  }

  /**
   * An Expect of 100-continue in its lower-case spelling, whatever case the client wrote it in (the JDK's
   * HttpClient sends {@code 100-Continue}): the value is case-insensitive (RFC 9110, section 10.1.1), but
   * Node's HTTP/2 server compares it as written and answers any other spelling 417.
   */
  private static String expectation(String name, String value) {
    return is(name, "expect") && value.equalsIgnoreCase(CONTINUE) ? CONTINUE : value;
  }

  /**
   * {@link #copy(MultiMap, MultiMap)} between two HTTP/2 header lists, names and values as they are: the
   * codec that decoded {@code from} already refused upper-case names, connection-specific headers and any
   * TE but "trailers" (RFC 9113, section 8.2.2), so what is left to drop is pseudo-headers and Host.
   */
  static void copy(Http2Headers from, Http2Headers to) {
    for (Map.Entry<CharSequence, CharSequence> header : from) {
      CharSequence name = header.getKey();
      CharSequence value = header.getValue();
      if (!isHopByHop(name) || is(name, TE) && is(value, "trailers")) {
        to.add(name, value);
      }
    }
  }

  /** {@link #scan} found a hop-by-hop name ({@link #isHopByHop}, pseudo-headers aside). */
  static final int HOP_BY_HOP = 1;
  /** {@link #scan} found Via. */
  static final int VIA = 2;
  /** {@link #scan} found Location or Content-Location. */
  static final int LOCATION = 4;
  /** {@link #scan} found Date. */
  static final int DATE = 8;

  /**
   * Which of {@link #HOP_BY_HOP}, {@link #VIA}, {@link #LOCATION} and {@link #DATE} an HTTP/2 response list
   * carries, from one pass over its names. A response has a handful: one pass costs less than a hashed
   * lookup per name.
   */
  static int scan(Http2Headers headers) {
    int found = 0;
    for (Map.Entry<CharSequence, CharSequence> header : headers) {
      CharSequence name = header.getKey();
      int length = name.length();
      if (length == 0 || name.charAt(0) == ':') {
        continue;
      }
      if (isHopByHop(name)) {
        found |= HOP_BY_HOP;
      } else if (length == 3 && is(name, "via")) {
        found |= VIA;
      } else if (length == 8 && is(name, "location") || length == 16 && is(name, "content-location")) {
        found |= LOCATION;
      } else if (length == 4 && is(name, "date")) {
        found |= DATE;
      }
    }
    return found;
  }

  /**
   * Drops from an HTTP/2 response's header list, in place, the hop-by-hop headers (TE included: a request
   * header only); called once a {@link #scan} has found one. The pseudo-headers stay: the side that writes
   * the list sets its own.
   */
  static void dropHopByHop(Http2Headers headers) {
    List<CharSequence> dropped = new ArrayList<>(2);
    for (Map.Entry<CharSequence, CharSequence> header : headers) {
      CharSequence name = header.getKey();
      boolean pseudo = name.length() > 0 && name.charAt(0) == ':';
      if (!pseudo && isHopByHop(name)) {
        dropped.add(name);
      }
    }
    dropped.forEach(headers::remove);
  }

  /** {@link #append(MultiMap, String, String)} for an HTTP/2 header list (lower-case {@code name}). */
  static void append(Http2Headers headers, AsciiString name, CharSequence value) {
    if (!headers.contains(name)) {
      headers.add(name, value);
    } else {
      headers.set(name, joined(headers.getAll(name), value));
    }
  }

  private static boolean hasToken(String value, String token) {
    for (String part : value.split(",")) {
      int params = part.indexOf(';');
      String t = (params >= 0 ? part.substring(0, params) : part).trim();
      if (t.equalsIgnoreCase(token)) {
        return true;
      }
    }
    return false;
  }

  static boolean isHopByHop(CharSequence name) {
    if (name.length() > 0 && name.charAt(0) == ':') {
      return true; // HTTP/2 pseudo-headers (:status, :path, ...): each side writes its own
    }
    switch (name.length()) {
      case 2:
        return is(name, TE);
      case 4:
        return is(name, "host");
      case 7:
        return is(name, "upgrade");
      case 10:
        return is(name, "connection") || is(name, "keep-alive");
      case 14:
        return is(name, "http2-settings");
      case 16:
        return is(name, "proxy-connection");
      case 17:
        return is(name, "transfer-encoding");
      default:
        return false;
    }
  }

  private static boolean is(CharSequence text, String expected) {
    return AsciiString.contentEqualsIgnoreCase(text, expected);
  }

  /**
   * Whether the request's Connection header lists "close", also beside other options ({@code close, te}):
   * Vert.x's server ends the connection only for a header that is exactly "close".
   */
  static boolean asksToClose(MultiMap headers) {
    List<String> named = connectionNamed(headers);
    return named != null && named.contains("close");
  }

  /** Header names listed in Connection, lower-cased, or null when there are none. */
  private static List<String> connectionNamed(MultiMap headers) {
    List<String> values = headers.getAll("connection");
    if (values.isEmpty()) {
      return null;
    }
    List<String> names = new java.util.ArrayList<>();
    for (String value : values) {
      for (String token : value.split(",")) {
        String t = token.trim().toLowerCase(Locale.ROOT);
        if (!t.isEmpty()) {
          names.add(t);
        }
      }
    }
    return names;
  }

  private static boolean containsIgnoreCase(List<String> names, String name) {
    for (String n : names) {
      if (n.equalsIgnoreCase(name)) {
        return true;
      }
    }
    return false;
  }

  /** Appends {@code value} to a comma-separated header, creating it when absent. */
  static void append(MultiMap headers, String name, String value) {
    List<String> existing = headers.getAll(name);
    if (existing.isEmpty()) {
      headers.set(name, value);
    } else {
      headers.set(name, joined(existing, value));
    }
  }

  /**
   * The list {@code existing} with {@code value} after it. An empty line adds no element (RFC 9110, section
   * 5.6.1: empty list elements do not count): {@code x-forwarded-for:} sent empty gives the client's
   * address alone, not {@code , 127.0.0.1}.
   */
  private static String joined(List<? extends CharSequence> existing, CharSequence value) {
    StringBuilder list = new StringBuilder();
    for (CharSequence line : existing) {
      if (!isBlank(line)) {
        list.append(line).append(", ");
      }
    }
    return list.append(value).toString();
  }

  private static boolean isBlank(CharSequence text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c != ' ' && c != '\t') {
        return false;
      }
    }
    return true;
  }
}
