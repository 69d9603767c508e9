package io.muxgate.forward;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;

import java.nio.charset.StandardCharsets;

/**
 * The proxy's own answer to a request it does not forward, or whose origin failed: the body
 * {@code error code: NNN}, the cause in {@code muxgate-error}, and {@code retry-after} on a 503.
 */
final class ErrorAnswer {

  private static final AsciiString HEAD = AsciiString.cached("HEAD");

  static final CharSequence MUXGATE_ERROR = HttpHeaders.createOptimized("muxgate-error");
  private static final String BODY_PREFIX = "error code: ";
  /** The length of every error body: every status the proxy makes has three digits. */
  static final int BODY_BYTES = (BODY_PREFIX + "000").length();

  private ErrorAnswer() {
  }

  /** Answers {@code client} with {@code status}; returns the body's length. */
  static int write(Downstream client, int status, String reason) {
    int bodyBytes = bodyBytes(client);
    client.status(status);
    MultiMap headers = client.responseHeaders();
    headers.set(MUXGATE_ERROR, reason).set(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8")
      .set(HttpHeaders.DATE, ResponseDate.now());
    if (status == 503) {
      // Every 503 of the proxy's (zone limit, full origin queue) says the load may pass soon.
      headers.set(HttpHeaders.RETRY_AFTER, "1");
    }
    if (bodyBytes == 0) {
      // The length a GET would get, as for a HEAD the origin answers; the body itself goes to no HEAD.
      headers.set(HttpHeaders.CONTENT_LENGTH, String.valueOf(BODY_BYTES));
      client.end(null);
      return 0;
    }
    client.end(Buffer.buffer(BODY_PREFIX + status));
    return bodyBytes;
  }

  /**
   * The bytes of body {@link #write} sends {@code client}: none to a HEAD (RFC 9110, section 9.3.2). Over
   * HTTP/2 neither Vert.x's server stream nor the proxy's own frames drop them, and a client takes DATA on the
   * answer to a HEAD for a protocol error: curl, nghttp and h2load reset the stream and never show the status.
   */
  static int bodyBytes(Downstream client) {
    return client.method() == HttpMethod.HEAD ? 0 : BODY_BYTES;
  }

  /** {@link #bodyBytes(Downstream)} for an HTTP/2 head's {@code :method} (null when it has none). */
  static int bodyBytes(CharSequence method) {
    return method != null && HEAD.contentEquals(method) ? 0 : BODY_BYTES;
  }

  /** The head of the answer with {@code status} for a front end that writes HTTP/2 frames itself. */
  static Http2Headers http2Head(int status, String reason) {
    return new DefaultHttp2Headers(false).status(HttpResponseStatus.valueOf(status).codeAsText())
      .set(MUXGATE_ERROR, reason).set(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8")
      .set(HttpHeaders.DATE, ResponseDate.now()).setInt(HttpHeaders.CONTENT_LENGTH, BODY_BYTES);
  }

  /** The body that goes with {@link #http2Head}. */
  static ByteBuf body(int status) {
    return Unpooled.copiedBuffer(BODY_PREFIX + status, StandardCharsets.US_ASCII);
  }
}
