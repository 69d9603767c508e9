package io.muxgate.frontend;

import io.netty.handler.codec.http2.Http2Headers;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;

/**
 * The headers that frame a response body on a {@link FrontStream}, set as Vert.x's server stream sets
 * them for the same response: a response ended with its head unwritten gets a Content-Length, and a
 * response to HEAD, 1xx, 204, 205 or 304 loses the headers that cannot go with it.
 */
final class ResponseFramingHeaders {

  private ResponseFramingHeaders() {
  }

  /** Drops (or, for 205, sets) what a response with {@code status} to a {@code method} request cannot carry. */
  static void fit(Http2Headers head, HttpMethod method, int status) {
    if (method == HttpMethod.HEAD || status == 304) {
      head.remove(HttpHeaders.TRANSFER_ENCODING);
    } else if (status == 205) {
      head.remove(HttpHeaders.TRANSFER_ENCODING);
      head.set(HttpHeaders.CONTENT_LENGTH, "0");
    } else if (status < 200 || status == 204) {
      head.remove(HttpHeaders.TRANSFER_ENCODING);
      head.remove(HttpHeaders.CONTENT_LENGTH);
    }
  }

  /**
   * A response ended before its head went out is all there is: its length, {@code bodyLength}, is known,
   * unless the head already declares one or the response has a length that is not its body's (HEAD, 304).
   */
  static void declareLength(Http2Headers head, HttpMethod method, int status, int bodyLength) {
    if (method != HttpMethod.HEAD && status != 304 && !head.contains(HttpHeaders.CONTENT_LENGTH)) {
      head.set(HttpHeaders.CONTENT_LENGTH, String.valueOf(bodyLength));
    }
  }
}
