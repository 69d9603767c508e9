package io.muxgate.forward;

import io.muxgate.origin.Chunks;
import io.muxgate.origin.SocketTuning;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.handler.codec.DecoderException;
import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.HostAndPort;
import io.vertx.core.net.impl.ConnectionBase;

import javax.net.ssl.SSLException;
import java.util.Locale;

/** A request read by Vert.x's HTTP server: HTTP/1.x, h2c, and HTTP/2 streams the front end leaves to Vert.x. */
final class VertxDownstream implements Downstream {

  private final HttpServerRequest request;
  private final HttpServerResponse response;
  /** The request target in origin form (path and query): differs from Vert.x's only for an absolute-form one. */
  private final String uri;
  /** The authority of an absolute-form target, which RFC 9112, section 3.2.2 puts before Host; else null. */
  private final String targetAuthority;

  VertxDownstream(HttpServerRequest request) {
    this.request = request;
    this.response = request.response();
    String target = request.uri();   // null for an HTTP/2 CONNECT without :path, which RequestTarget refuses
    int scheme = target == null || target.isEmpty() || target.charAt(0) == '/' ? -1 : target.indexOf("://");
    if (scheme > 0 && request.version() != HttpVersion.HTTP_2) {
      int start = scheme + 3;
      int end = start;
      while (end < target.length() && target.charAt(end) != '/' && target.charAt(end) != '?') {
        end++;
      }
      this.targetAuthority = target.substring(start, end);
      this.uri = end == target.length() ? "/" : target.charAt(end) == '?' ? "/" + target.substring(end)
        : target.substring(end);
    } else {
      this.targetAuthority = null;
      this.uri = target;
    }
  }

  @Override
  public HttpMethod method() {
    return request.method();
  }

  @Override
  public HttpVersion version() {
    return request.version();
  }

  @Override
  public HttpVersion receivedVersion() {
    HttpVersion version = request.version();
    // Stream 1 of a connection whose first request took the h2c Upgrade is that request.
    return version == HttpVersion.HTTP_2 && request.streamId() == 1
      && request.connection() instanceof ConnectionBase base && base.channel().hasAttr(Forwarder.H2C_UPGRADED)
      ? HttpVersion.HTTP_1_1 : version;
  }

  @Override
  public String uri() {
    return uri;
  }

  @Override
  public String target() {
    return request.uri();
  }

  @Override
  public String path() {
    return request.path();
  }

  @Override
  public HostAndPort authority() {
    return targetAuthority == null ? request.authority()
      : targetAuthority.isEmpty() ? null : HostAndPort.parseAuthority(targetAuthority, -1);
  }

  @Override
  public MultiMap headers() {
    return request.headers();
  }

  @Override
  public String remoteHost() {
    return request.remoteAddress().hostAddress();
  }

  @Override
  public boolean tls() {
    return request.isSSL();
  }

  @Override
  public CharSequence scheme() {
    return request.scheme();
  }

  @Override
  public HttpServerRequest vertxRequest() {
    return request;
  }

  @Override
  public void bind(Events events) {
    request.handler(events::onData);
    request.endHandler(v -> events.onEnd());
    Handler<Throwable> failure = cause -> {
      if (malformedBody(cause)) {
        events.onMalformedBody(cause);
        // Vert.x closes the connection as soon as this returns, dropping what was written and not flushed.
        if (request.connection() instanceof ConnectionBase connection) {
          connection.channel().flush();
        }
      } else {
        events.onFailure(cause);
      }
    };
    // Vert.x reports a failure of the connection to both, the response first.
    request.exceptionHandler(failure);
    response.exceptionHandler(failure);
    response.closeHandler(v -> events.onFailure(null));
  }

  /**
   * Whether an HTTP/1.x request failed on its body's framing, as Netty's decoder reports it: a chunk size
   * that is not a number, a chunk line too long, a chunk or extension not ended as RFC 9112 says, a trailer
   * section line that is no field (no colon, a space before it: the decoder's IllegalArgumentException, of
   * which NumberFormatException is one). TLS failures come wrapped in the same {@link DecoderException}
   * and are not the request's.
   */
  private boolean malformedBody(Throwable cause) {
    return request.version() != HttpVersion.HTTP_2 && (cause instanceof IllegalArgumentException
      || cause instanceof DecoderException && !(cause.getCause() instanceof SSLException));
  }

  @Override
  public void pause() {
    request.pause();
  }

  @Override
  public void resume() {
    request.resume();
  }

  @Override
  public boolean isEnded() {
    return request.isEnded();
  }

  @Override
  public void status(int status) {
    response.setStatusCode(status);
  }

  @Override
  public MultiMap responseHeaders() {
    return response.headers();
  }

  @Override
  public MultiMap responseTrailers() {
    return response.trailers();
  }

  @Override
  public void chunked() {
    response.setChunked(true);
  }

  /**
   * Vert.x's HTTP/1.x response refuses a head that declares no body length, so such a head (a 204 or
   * 304, the answer to HEAD, an HTTP/1.0 body that ends with the connection) goes out with the response's
   * end or first chunk instead.
   */
  @Override
  public void writeHead() {
    MultiMap headers = response.headers();
    if (request.version() == HttpVersion.HTTP_2 || headers.contains(HttpHeaders.CONTENT_LENGTH)
      || headers.contains(HttpHeaders.TRANSFER_ENCODING)) {
      response.writeHead();
    }
  }

  @Override
  public boolean headWritten() {
    return response.headWritten();
  }

  @Override
  public void write(Buffer chunk) {
    response.write(Chunks.detached(chunk));
  }

  @Override
  public boolean writeQueueFull() {
    return response.writeQueueFull();
  }

  /**
   * Over HTTP/1.x {@link #writeQueueFull} is the channel's writability, which Netty's write-buffer high-water
   * mark (64 KiB) turns off: those bytes, copied to direct memory for the socket, are queued by then.
   */
  @Override
  public int bytesQueued() {
    if (request.version() == HttpVersion.HTTP_2 || !(request.connection() instanceof ConnectionBase connection)) {
      return 0;
    }
    ChannelOutboundBuffer queued = connection.channel().unsafe().outboundBuffer();
    return queued == null ? 0 : (int) Math.min(Integer.MAX_VALUE, queued.totalPendingWriteBytes());
  }

  @Override
  public void drainHandler(Handler<Void> handler) {
    response.drainHandler(handler);
  }

  @Override
  public void end(Buffer last) {
    if (last != null) {
      response.end(Chunks.detached(last));
    } else {
      response.end();
    }
    if (request.version() == HttpVersion.HTTP_2 && !request.isEnded()) {
      LingeringClose.afterEarlyResponse(request);
    }
  }

  @Override
  public void reset(long code) {
    response.reset(code);
  }

  /**
   * Over HTTP/1.x Vert.x's reset closes the connection only once what is queued was sent, which a client
   * that reads nothing never lets happen: the bytes would stay in direct memory until the idle timeout
   * ({@code IdleClients}). The socket is aborted instead, with a TCP reset that drops them.
   */
  @Override
  public void cut(long code) {
    response.reset(code);
    if (request.version() != HttpVersion.HTTP_2 && request.connection() instanceof ConnectionBase connection) {
      SocketTuning.abort(connection.channel());
    }
  }

  @Override
  public void writeContinue() {
    response.writeContinue();
  }

  @Override
  public void writeEarlyHints(MultiMap hints) {
    response.writeEarlyHints(request.version() == HttpVersion.HTTP_2 ? lowerCased(hints) : hints);
  }

  /**
   * Vert.x's HTTP/2 server writes a 103's names as given, and the codec refuses an upper-case one (RFC 9113,
   * section 8.2.1): the {@code Link} an HTTP/1.1 origin sends would drop the hints without a word.
   */
  private static MultiMap lowerCased(MultiMap hints) {
    MultiMap lower = HttpHeaders.headers();
    hints.forEach((name, value) -> lower.add(name.toLowerCase(Locale.ROOT), value));
    return lower;
  }
}
