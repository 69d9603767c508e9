package io.muxgate.forward;

import io.netty.handler.codec.http2.Http2Headers;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.net.HostAndPort;

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
   * Whether every {@code host} of an HTTP/2 request head names the entity its {@code :authority} names; false
   * when the {@code :authority} is no authority at all.
   */
  public static boolean hostsNameAuthority(Http2Headers head) {
    HostAndPort authority = HostAndPort.parseAuthority(head.authority().toString(), -1);
    if (authority == null) {
      return false;
    }
    for (CharSequence host : head.getAll(HttpHeaders.HOST)) {
      if (!sameEntity(host, authority, head.scheme())) {
        return false;
      }
    }
    return true;
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
