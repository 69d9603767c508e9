package io.muxgate.forward;

import io.muxgate.config.OriginAddress;
import io.muxgate.config.Route;
import io.muxgate.origin.OriginPool;

import java.net.URI;
import java.net.URISyntaxException;

/** Apache's ProxyPassReverse: an absolute URL naming an origin is made to name the proxy instead. */
final class LocationRewrite {

  private LocationRewrite() {
  }

  /** The rewritten URL, or null when {@code value} does not point at one of the selected origins. */
  static String rewrite(String value, Zone.Selection selection, String clientScheme, String clientAuthority) {
    URI uri;
    try {
      uri = new URI(value);
    } catch (URISyntaxException e) {
      return null;
    }
    if (uri.getHost() == null) {
      return null;
    }
    int port = uri.getPort() != -1 ? uri.getPort() : "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
    boolean pointsAtOrigin = false;
    for (OriginPool pool : selection.origins().pools()) {
      OriginAddress origin = pool.peer().address();
      String sni = pool.peer().sni();
      if (port == origin.port() && (uri.getHost().equalsIgnoreCase(origin.host())
        || (sni != null && uri.getHost().equalsIgnoreCase(sni)))) {
        pointsAtOrigin = true;
        break;
      }
    }
    if (!pointsAtOrigin) {
      return null;
    }
    String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
    Route route = selection.route();
    if (route != null && route.stripPrefix()) {
      String prefix = route.prefix().endsWith("/") ? route.prefix().substring(0, route.prefix().length() - 1)
        : route.prefix();
      path = prefix + path;
    }
    StringBuilder sb = new StringBuilder(clientScheme).append("://").append(clientAuthority).append(path);
    if (uri.getRawQuery() != null) {
      sb.append('?').append(uri.getRawQuery());
    }
    if (uri.getRawFragment() != null) {
      sb.append('#').append(uri.getRawFragment());
    }
    return sb.toString();
  }
}
