package io.muxgate.forward;

import io.muxgate.config.OriginAddress;
import io.muxgate.config.Route;
import io.muxgate.origin.OriginPool;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.net.HostAndPort;

import java.net.URI;
import java.net.URISyntaxException;

/** Apache's ProxyPassReverse: an absolute URL naming an origin is made to name the proxy instead. */
final class LocationRewrite {

  private LocationRewrite() {
  }

  /**
   * Rewrites an absolute (or scheme-relative) Location or Content-Location that points at one of the
   * zone's origins so that it points at the client-facing scheme and host instead, restoring a stripped
   * route prefix.
   */
  static void rewriteHeaders(MultiMap headers, Zone zone, Zone.Selection selection, Downstream client,
                             HostAndPort authority) {
    for (CharSequence name : new CharSequence[] {HttpHeaders.LOCATION, HttpHeaders.CONTENT_LOCATION}) {
      String value = headers.get(name);
      if (value == null || !(value.regionMatches(true, 0, "http://", 0, 7)
        || value.regionMatches(true, 0, "https://", 0, 8) || value.startsWith("//"))) {
        continue;
      }
      String rewritten = rewrite(value, zone, selection, client.tls() ? "https" : "http",
        authority.port() >= 0 ? authority.host() + ":" + authority.port() : authority.host());
      if (rewritten != null) {
        headers.set(name, rewritten);
      }
    }
  }

  /**
   * The rewritten URL, or null when {@code value} does not point at an origin of {@code zone}. The
   * request's own origins are looked at first, then the zone's others (a redirect from an API route to
   * the site itself): the route whose origin it names gives the prefix to restore. A scheme-relative URL
   * ({@code //host/path}) stays scheme-relative.
   */
  static String rewrite(String value, Zone zone, Zone.Selection selection, String clientScheme,
                        String clientAuthority) {
    URI uri;
    try {
      uri = new URI(value);
    } catch (URISyntaxException e) {
      return null;
    }
    String host = uri.getHost();
    if (host == null) {
      return null;
    }
    if (host.startsWith("[")) {
      host = host.substring(1, host.length() - 1);   // an IPv6 literal: origin addresses are kept without brackets
    }
    Route route = selection.route();
    boolean found = pointsAt(uri, host, selection.origins());
    if (!found && zone != null) {
      if (selection.route() != null && pointsAt(uri, host, zone.origins())) {
        route = null;
        found = true;
      }
      for (int i = 0; !found && i < zone.routes().size(); i++) {
        Zone.RoutedOrigins routed = zone.routes().get(i);
        if (routed.route() != selection.route() && pointsAt(uri, host, routed.origins())) {
          route = routed.route();
          found = true;
        }
      }
    }
    if (!found) {
      return null;
    }
    String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
    if (route != null && route.stripPrefix()) {
      String prefix = route.prefix().endsWith("/") ? route.prefix().substring(0, route.prefix().length() - 1)
        : route.prefix();
      path = prefix + path;
    }
    StringBuilder sb = new StringBuilder(uri.getScheme() == null ? "" : clientScheme + ":").append("//")
      .append(clientAuthority).append(path);
    if (uri.getRawQuery() != null) {
      sb.append('?').append(uri.getRawQuery());
    }
    if (uri.getRawFragment() != null) {
      sb.append('#').append(uri.getRawFragment());
    }
    return sb.toString();
  }

  /** Whether {@code uri}, whose host is {@code host}, names one of {@code origins} (its host or SNI name, and its port). */
  private static boolean pointsAt(URI uri, String host, OriginSet origins) {
    for (OriginPool pool : origins.pools()) {
      OriginAddress origin = pool.peer().address();
      int port = uri.getPort() != -1 ? uri.getPort()
        : uri.getScheme() == null ? (origin.scheme().tls() ? 443 : 80)
        : "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
      String sni = pool.peer().sni();
      if (port == origin.port() && (sameName(host, origin.host()) || (sni != null && sameName(host, sni)))) {
        return true;
      }
    }
    return false;
  }

  /** Whether two host names are one, in any case and with or without the root dot ({@code origin.test.}). */
  private static boolean sameName(String a, String b) {
    int length = a.endsWith(".") ? a.length() - 1 : a.length();
    return length == (b.endsWith(".") ? b.length() - 1 : b.length()) && a.regionMatches(true, 0, b, 0, length);
  }
}
