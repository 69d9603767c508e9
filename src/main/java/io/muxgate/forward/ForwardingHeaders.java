package io.muxgate.forward;

import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.impl.headers.Http2HeadersAdaptor;

/**
 * What the proxy adds to what it carries: {@code x-forwarded-for}, {@code -proto} and {@code -host} on the
 * request to the origin, and its {@code via} both ways.
 */
final class ForwardingHeaders {

  static final AsciiString VIA = AsciiString.cached("via");
  private static final AsciiString X_FORWARDED_FOR = AsciiString.cached("x-forwarded-for");
  private static final AsciiString X_FORWARDED_PROTO = AsciiString.cached("x-forwarded-proto");
  private static final AsciiString X_FORWARDED_HOST = AsciiString.cached("x-forwarded-host");

  private ForwardingHeaders() {
  }

  /**
   * The request headers for the origin. When the client sent an HTTP/2 header list, they are built into
   * {@code http2}, which already holds the origin request's :method, :path and :authority (each attempt sets
   * :scheme), so that an HTTP/2 origin stream takes the list as it is; the map returned is a view of it.
   */
  static MultiMap originHeaders(Downstream client, String authority, Http2Headers http2) {
    String proto = client.tls() ? "https" : "http";
    if (http2 != null) {
      Headers.copy(client.http2Headers(), http2);
      Headers.append(http2, X_FORWARDED_FOR, client.remoteHost());
      http2.set(X_FORWARDED_PROTO, proto);
      http2.set(X_FORWARDED_HOST, authority);
      Headers.append(http2, VIA, via(client.receivedVersion()));
      return new Http2HeadersAdaptor(http2);
    }
    MultiMap headers = HttpHeaders.headers();
    Headers.copyRequest(client.headers(), headers);
    Headers.append(headers, "x-forwarded-for", client.remoteHost());
    headers.set("x-forwarded-proto", proto);
    headers.set("x-forwarded-host", authority);
    Headers.append(headers, "via", via(client.receivedVersion()));
    return headers;
  }

  /** This proxy's {@code via} entry for a message received over {@code version}. */
  static String via(HttpVersion version) {
    return switch (version) {
      case HTTP_2 -> "2 muxgate";
      case HTTP_1_0 -> "1.0 muxgate";
      default -> "1.1 muxgate";
    };
  }
}
