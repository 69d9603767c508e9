package io.muxgate.forward;

import io.vertx.core.http.HttpHeaders;
import io.vertx.core.net.HostAndPort;

import java.util.List;

/**
 * Whether an HTTP/2 request's {@code host} header names the entity its {@code :authority} names. RFC 9113,
 * section 8.3.1 lets a server treat a request where they differ as malformed, and asks an intermediary to
 * compare them after scheme-based normalization (RFC 3986, section 6.2.3): the host's case does not count,
 * and no port is the scheme's default one ({@code Example.com:443} is {@code example.com} over https).
 */
public final class AuthorityMatch {

  /** {@code muxgate-error} of the 400 that answers a request whose {@code host} names another entity. */
  public static final String HOST_MISMATCH = "host_mismatch";

  private AuthorityMatch() {
  }

  /** Whether {@code host}, a header's text, names the entity {@code authority} names under {@code scheme}. */
  public static boolean sameEntity(CharSequence host, HostAndPort authority, CharSequence scheme) {
    HostAndPort parsed = HostAndPort.parseAuthority(host.toString(), -1);
    return parsed != null && authority != null && parsed.host().equalsIgnoreCase(authority.host())
      && port(parsed, scheme) == port(authority, scheme);
  }

  /**
   * Whether an HTTP/2 request carries a {@code host} beside its {@code :authority} that names another entity.
   * Vert.x's server keeps {@code host} among the headers only beside an {@code :authority}.
   */
  static boolean hostMismatch(Downstream client) {
    if (client.header(HttpHeaders.HOST) == null) {
      return false;
    }
    List<String> hosts = client.headers().getAll(HttpHeaders.HOST);
    for (String host : hosts) {
      if (!sameEntity(host, client.authority(), client.scheme())) {
        return true;
      }
    }
    return false;
  }

  private static int port(HostAndPort authority, CharSequence scheme) {
    if (authority.port() >= 0) {
      return authority.port();
    }
    if (scheme == null) {
      return -1;
    }
    String s = scheme.toString();
    return s.equalsIgnoreCase("https") ? 443 : s.equalsIgnoreCase("http") ? 80 : -1;
  }
}
