package io.muxgate.forward;

import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;

import java.util.concurrent.TimeUnit;

/**
 * Closes an HTTP/1.x client connection once the response is sent, so an unread body is not read as a next
 * request (HTTP/2 resets just the stream, and a Connection header there would make the response malformed).
 */
final class LingeringClose {

  /** How long a connection closing after a response keeps reading what the client still sends. */
  private static final long LINGER_MS = 2000;

  private LingeringClose() {
  }

  /**
   * From now on the connection reads no further request, as after a refused head, whose framing is in
   * doubt; it closes once the response is sent.
   */
  static void afterResponse(Downstream client) {
    close(client, false);
  }

  /**
   * The connection closes once a response that may stream on for long is sent: the linger starts from the
   * response's end, as from now it would cut a body still streaming.
   */
  static void afterStreamedResponse(Downstream client) {
    close(client, true);
  }

  private static void close(Downstream client, boolean onceEnded) {
    if (client.version() != HttpVersion.HTTP_2) {
      if (!client.headWritten()) {
        client.responseHeaders().set(HttpHeaders.CONNECTION, "close");
      }
      HttpServerRequest request = client.vertxRequest();
      if (request != null) {
        HttpServerResponse response = request.response();
        if (!response.headWritten()) {
          // Vert.x sets keep-alive over it, as the head goes out, for an HTTP/1.0 client that asked for it
          response.headersEndHandler(v -> response.headers().set(HttpHeaders.CONNECTION, "close"));
        }
        if (onceEnded && !response.ended()) {
          response.endHandler(v -> linger(request));
        } else {
          linger(request);
        }
      }
    }
  }

  /**
   * Vert.x's server then closes once both the response and the request are over, reading and dropping the
   * body's rest meanwhile, and after LINGER_MS at the latest. Closed at once, a socket with unread bytes is
   * reset by the kernel, and the client may lose the response still in its buffers.
   */
  private static void linger(HttpServerRequest request) {
    request.connection().shutdown(LINGER_MS, TimeUnit.MILLISECONDS);
  }
}
