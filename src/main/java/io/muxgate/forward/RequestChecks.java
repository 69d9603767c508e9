package io.muxgate.forward;

import io.muxgate.origin.HeaderLists;
import io.netty.handler.codec.PrematureChannelClosureException;
import io.netty.handler.codec.http.ContentLengthNotAllowedException;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.codec.http.TransferEncodingNotAllowedException;
import io.netty.handler.codec.http2.Http2Headers;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.HostAndPort;

/**
 * The first phase of a request: whether its head can be served at all, judged before a zone or an origin
 * is looked at. A fault is named by the reason its refusal gives in {@code muxgate-error}, and
 * {@link #status} maps each reason to its status, in one place.
 */
final class RequestChecks {

  static final String HEADERS_TOO_LARGE = "request_headers_too_large";
  /** The client closed its connection in the middle of a request head: nothing is answered. */
  static final String CLIENT_CLOSED = "client_closed";
  private static final String MISSING_HOST = "missing_host";
  private static final String BAD_TRANSFER_ENCODING = "bad_transfer_encoding";
  private static final String UNSUPPORTED_TRANSFER_CODING = "unsupported_transfer_coding";
  private static final String VERSION_NOT_SUPPORTED = "http_version_not_supported";
  private static final String BAD_REQUEST = "bad_request";

  private RequestChecks() {
  }

  /** The status of the proxy's refusal for {@code fault}. */
  static int status(String fault) {
    return switch (fault) {
      case RequestTarget.TOO_LONG -> 414;
      case HEADERS_TOO_LARGE -> 431;
      case UNSUPPORTED_TRANSFER_CODING -> 501;
      case VERSION_NOT_SUPPORTED -> 505;
      default -> 400;
    };
  }

  /**
   * What is wrong with the head of a request its codec read, or null if it may go on to its zone.
   * {@code authority} is the client's, read once by the caller.
   */
  static String fault(Downstream client, HostAndPort authority) {
    String badTarget = RequestTarget.fault(client.target(), client.method(),
      client.version() == HttpVersion.HTTP_2 ? client.scheme() : null);
    if (badTarget != null) {
      return badTarget;
    }
    if (client.version() == HttpVersion.HTTP_2) {
      // HTTP/1.x blocks over the limit never get here (Forwarder.handleInvalid); HTTP/2 ones are decoded up
      // to a larger bound so that the answer can be the proxy's own 431 instead of the codec's bare one.
      Http2Headers list = client.http2Headers();
      if (HeaderLists.size(list != null ? list : client.headers()) > Forwarder.MAX_REQUEST_HEADER_BYTES) {
        return HEADERS_TOO_LARGE;
      }
      // RFC 9113, section 8.3.1: an http or https request names its target by :authority or host; without
      // either it is malformed, as an HTTP/1.1 request without Host is, not one for an unknown host.
      return authority == null ? MISSING_HOST : null;
    }
    // RFC 9112, section 3.2: an HTTP/1.1 request without Host, or any with two, is malformed, not
    // one for an unknown host; so is any whose Host is empty (RFC 9110, section 4.2.1: an http URI with
    // an empty host is invalid), as an absolute-form target with one is (RequestTarget). A field name is a
    // token, never empty (RFC 9110, section 5.1): Vert.x's parser checks a name's characters but lets ": b"
    // by, which no HTTP/2 origin's head can carry. A host that is named but is no host and port ("c.test:abc",
    // a port over 65535, "[::1") is as good as none (RFC 9112, section 3.2), on HTTP/1.0 too.
    boolean hostless = authority == null ? client.version() == HttpVersion.HTTP_1_1 || namesHost(client)
      : authority.host().isEmpty();
    return hostless ? MISSING_HOST
      : client.headers().getAll(HttpHeaders.HOST).size() > 1 ? MalformedHead.MULTIPLE_HOST
      : client.headers().contains("") ? BAD_REQUEST
      : client.header(HttpHeaders.TRANSFER_ENCODING) != null ? transferEncodingFault(client) : null;
  }

  /** Whether an HTTP/1.x request names a host, readable or not: by Host, or by an absolute-form target. */
  private static boolean namesHost(Downstream client) {
    String target = client.target();   // origin-form, absolute-form or "*" once RequestTarget let it by
    return client.headers().contains(HttpHeaders.HOST) || target.charAt(0) != '/' && !target.equals("*");
  }

  /**
   * What made Vert.x's server give up decoding an HTTP/1.x request: a request line or header block over
   * the limits, a version it does not speak, framing it refuses, or something that is not HTTP at all.
   */
  static String decoderFault(Throwable cause) {
    if (cause instanceof UnreadRequestLine unread) {
      cause = unread.getCause();
    }
    if (cause instanceof PrematureChannelClosureException) {
      return CLIENT_CLOSED;
    }
    if (cause instanceof TooLongHttpLineException) {
      return RequestTarget.TOO_LONG;
    }
    if (cause instanceof TooLongHttpHeaderException) {
      return HEADERS_TOO_LARGE;
    }
    if (cause instanceof UnsupportedHttpVersion) {
      return VERSION_NOT_SUPPORTED;
    }
    if (cause instanceof TransferEncodingNotAllowedException || cause instanceof ContentLengthNotAllowedException
      || cause != null && cause.getMessage() != null
      && (cause.getMessage().contains("transfer coding") || cause.getMessage().contains("Transfer-Encoding"))) {
      // RFC 9112, section 6.1, as the codec applies it: Transfer-Encoding on HTTP/1.0, beside Content-Length,
      // or without chunked as the final coding.
      return BAD_TRANSFER_ENCODING;
    }
    return BAD_REQUEST;
  }

  /**
   * What is left wrong with an HTTP/1.x request's Transfer-Encoding once the codec has read it, or null.
   * Netty's decoder already refuses, as RFC 9112 section 6.1 asks, Transfer-Encoding on HTTP/1.0, beside
   * Content-Length, or without chunked as its final coding ({@link #decoderFault}: 400). Left: chunked
   * applied twice, or not at all, should that rule be switched off (400: the body's end is ambiguous),
   * and codings beside chunked (501: the origin would get their bytes without the header naming them).
   */
  private static String transferEncodingFault(Downstream client) {
    int codings = 0;
    int chunked = 0;
    for (String value : client.headers().getAll(HttpHeaders.TRANSFER_ENCODING)) {
      for (String coding : value.split(",")) {
        codings++;
        if (coding.trim().equalsIgnoreCase("chunked")) {
          chunked++;
        }
      }
    }
    return chunked != 1 ? BAD_TRANSFER_ENCODING : codings > 1 ? UNSUPPORTED_TRANSFER_CODING : null;
  }

  /** Whether a declared {@code content-length} is over {@code max}; one that is no number is the codec's. */
  static boolean bodyOver(String contentLength, long max) {
    try {
      return Long.parseLong(contentLength.trim()) > max;
    } catch (NumberFormatException e) {
      return false;
    }
  }
}
