package io.muxgate.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

/**
 * Where an origin listens and how to speak to it. {@code https} is TLS with ALPN, {@code h2c} is
 * HTTP/2 cleartext with prior knowledge, {@code http} is HTTP/1.1 cleartext (or an h2c Upgrade attempt
 * when the zone allows HTTP/2).
 */
public record OriginAddress(Scheme scheme, String host, int port) {

  public enum Scheme {
    HTTPS("https"), H2C("h2c"), HTTP("http");

    private final String text;

    Scheme(String text) {
      this.text = text;
    }

    public boolean tls() {
      return this == HTTPS;
    }
  }

  /** Parses {@code scheme://host[:port][/]}; any other path, query or user info is refused. */
  public static OriginAddress parse(String url) {
    String text = withoutUserInfo(url);   // what the messages quote, which are logged
    URI uri;
    try {
      uri = new URI(url);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("not a valid URL: \"" + text + "\"");
    }
    String schemeText = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    Scheme scheme = switch (schemeText) {
      case "https" -> Scheme.HTTPS;
      case "h2c" -> Scheme.H2C;
      case "http" -> Scheme.HTTP;
      default -> throw new IllegalArgumentException(
        "scheme must be https, h2c or http, got \"" + text + "\"");
    };
    if (uri.getRawUserInfo() != null || !text.equals(url)) {
      // Muxgate has no origin credentials to send from a URL; they would only end up in logs.
      throw new IllegalArgumentException("must not carry user info (user:password@), got \"" + text + "\"");
    }
    String host = uri.getHost();
    if (host == null || host.isEmpty()) {
      throw new IllegalArgumentException(uri.getRawAuthority() == null ? "missing host in \"" + text + "\""
        : "not a valid host name in \"" + text + "\"");
    }
    if (uri.getPort() == 0 || uri.getPort() > 65535) {
      throw new IllegalArgumentException("port must be 1..65535, got \"" + text + "\"");
    }
    if (uri.getRawQuery() != null || uri.getRawFragment() != null
      || (uri.getRawPath() != null && !uri.getRawPath().isEmpty() && !uri.getRawPath().equals("/"))) {
      throw new IllegalArgumentException(
        "must be scheme://host[:port] without path, query or fragment, got \"" + text + "\"");
    }
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port = uri.getPort() != -1 ? uri.getPort() : scheme.tls() ? 443 : 80;
    return new OriginAddress(scheme, host.toLowerCase(Locale.ROOT), port);
  }

  /** {@code url} with the user info of its authority, if any, replaced by "…". */
  private static String withoutUserInfo(String url) {
    int start = url.indexOf("://");
    if (start < 0) {
      return url;
    }
    start += 3;
    int end = start;
    while (end < url.length() && "/?#".indexOf(url.charAt(end)) < 0) {
      end++;
    }
    int at = url.lastIndexOf('@', end - 1);
    return at < start ? url : url.substring(0, start) + "…" + url.substring(at);
  }

  @Override
  public String toString() {
    String h = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
    return scheme.text + "://" + h + ":" + port;
  }
}
