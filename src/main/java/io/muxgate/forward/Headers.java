package io.muxgate.forward;

import io.vertx.core.MultiMap;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Copies headers across the proxy without the hop-by-hop ones: Connection and every header it names,
 * Keep-Alive, Proxy-Connection, TE (except "trailers"), Transfer-Encoding, Upgrade, plus the h2c
 * upgrade's HTTP2-Settings and Host, which the proxy sets itself.
 */
final class Headers {

  private Headers() {
  }

  static void copy(MultiMap from, MultiMap to) {
    List<String> named = connectionNamed(from);
    boolean trailersAccepted = false;
    for (Map.Entry<String, String> header : from) {
      String name = header.getKey();
      if (name.equalsIgnoreCase("te")) {
        trailersAccepted |= hasToken(header.getValue(), "trailers");
      } else if (!isHopByHop(name) && (named == null || !containsIgnoreCase(named, name))) {
        to.add(name, header.getValue());
      }
    }
    if (trailersAccepted) {
      // The one TE value HTTP/2 allows; gRPC origins refuse a request without it.
      to.set("te", "trailers");
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

  static boolean isHopByHop(String name) {
    if (!name.isEmpty() && name.charAt(0) == ':') {
      return true; // HTTP/2 pseudo-headers (:status, :path, ...): each side writes its own
    }
    switch (name.length()) {
      case 2:
        return name.equalsIgnoreCase("te");
      case 4:
        return name.equalsIgnoreCase("host");
      case 7:
        return name.equalsIgnoreCase("upgrade");
      case 10:
        return name.equalsIgnoreCase("connection") || name.equalsIgnoreCase("keep-alive");
      case 14:
        return name.equalsIgnoreCase("http2-settings");
      case 16:
        return name.equalsIgnoreCase("proxy-connection");
      case 17:
        return name.equalsIgnoreCase("transfer-encoding");
      default:
        return false;
    }
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
      headers.set(name, String.join(", ", existing) + ", " + value);
    }
  }
}
