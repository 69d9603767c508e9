package io.muxgate.frontend;

import io.muxgate.origin.Chunks;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.util.AsciiString;
import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.impl.headers.Http2HeadersAdaptor;
import io.vertx.core.net.HostAndPort;

/**
 * One client request/response on a {@link FrontStreams} connection, as HTTP/2 frames; the request half
 * is {@link FrontRequest}. It behaves as Vert.x's server stream does for the same frames: the response
 * waits on the stream's window and the socket ({@link #writeQueueFull}), and the headers that frame the
 * response body are fitted to it ({@link ResponseFramingHeaders}).
 */
final class FrontStream extends FrontRequest {

  private int status = 200;
  private Http2Headers responseHead;
  private MultiMap responseHeaders;
  private Http2Headers trailers;
  private boolean headWritten;
  private boolean responseEnded;
  private boolean blocked;
  private Handler<Void> drainHandler;

  private FrontStream(FrontStreams owner, Http2Stream stream, Http2Headers head, HttpMethod method, String uri,
                      HostAndPort authority, boolean end) {
    super(owner, stream, head, method, uri, authority, end);
  }

  /**
   * The stream for a request head that {@link FrontStreams} found plain, or null if its authority is unreadable
   * or names no host (RFC 9110, section 4.2.1), which {@link RefusedHeads} then answers.
   */
  static FrontStream of(FrontStreams owner, Http2Stream stream, Http2Headers head, boolean end) {
    CharSequence authority = head.authority();
    if (authority == null) {
      authority = head.get(HttpHeaders.HOST);
    }
    HostAndPort parsed = HostAndPort.parseAuthority(authority.toString(), -1);
    if (parsed == null || parsed.host().isEmpty()) {
      return null;
    }
    return new FrontStream(owner, stream, head, methodOf(head.method()), head.path().toString(), parsed, end);
  }

  /** {@link HttpMethod#valueOf} without first copying the decoded name into a String for GET and POST. */
  private static HttpMethod methodOf(CharSequence name) {
    if (HttpMethod.GET.name().contentEquals(name)) {
      return HttpMethod.GET;
    }
    if (HttpMethod.POST.name().contentEquals(name)) {
      return HttpMethod.POST;
    }
    return HttpMethod.valueOf(name.toString());
  }

  /** Netty closed the stream: both sides ended, the proxy or the client reset it, or the connection went. */
  void onClosed() {
    if (!responseEnded || !isEnded()) {
      fail(new HttpClosedException("Stream was closed"));
    }
  }

  // ---- the response -------------------------------------------------------------------------------

  @Override
  public void status(int status) {
    this.status = status;
  }

  @Override
  public MultiMap responseHeaders() {
    if (responseHeaders == null) {
      responseHeaders = new Http2HeadersAdaptor(http2ResponseHeaders());
    }
    return responseHeaders;
  }

  private Http2Headers http2ResponseHeaders() {
    if (responseHead == null) {
      // Not validated again: names come from a codec (HTTP/2 or Vert.x's HTTP/1.1 parser) or the proxy.
      responseHead = new DefaultHttp2Headers(false);
    }
    return responseHead;
  }

  @Override
  public boolean adoptResponseHeaders(Http2Headers origin) {
    if (responseHead != null || headWritten) {
      return false;
    }
    responseHead = origin;
    return true;
  }

  @Override
  public MultiMap responseTrailers() {
    if (trailers == null) {
      trailers = new DefaultHttp2Headers();
    }
    return new Http2HeadersAdaptor(trailers);
  }

  @Override
  public void chunked() {
    // HTTP/2 frames every body the same way
  }

  @Override
  public void writeHead() {
    sendHead(false);
    owner.channel.flush();
  }

  /** Writes the response head if not written yet; true if it went out now. */
  private boolean sendHead(boolean end) {
    if (headWritten) {
      return false;
    }
    headWritten = true;
    http2ResponseHeaders();
    AsciiString code = HttpResponseStatus.valueOf(status).codeAsText();
    if (!AsciiString.contentEquals(code, responseHead.status())) {
      // An origin's head adopted as it is carries its :status already; setting it again re-adds the entry.
      responseHead.status(code);
    }
    ResponseFramingHeaders.fit(responseHead, method, status);
    owner.handler.encoder().writeHeaders(owner.ctx, stream.id(), responseHead, 0, end, owner.quiet);
    return true;
  }

  @Override
  public boolean headWritten() {
    return headWritten;
  }

  @Override
  public void write(Buffer chunk) {
    if (responseEnded) {
      Chunks.release(chunk);
      return;
    }
    sendHead(false);
    owner.handler.encoder().writeData(owner.ctx, stream.id(), Chunks.take(chunk), 0, false, owner.quiet);
    owner.channel.flush();
  }

  @Override
  public boolean writeQueueFull() {
    return !responseEnded && stream.state() != Http2Stream.State.CLOSED
      && !owner.handler.encoder().flowController().isWritable(stream);
  }

  boolean writable() {
    return !writeQueueFull();
  }

  @Override
  public void drainHandler(Handler<Void> handler) {
    drainHandler = handler;
    if (handler != null && writeQueueFull() && !blocked) {
      blocked = true;
      owner.blocked.add(this);
    }
  }

  void drained() {
    blocked = false;
    Handler<Void> handler = drainHandler;
    if (handler != null && !responseEnded) {
      handler.handle(null);
    }
  }

  @Override
  public void end(Buffer last) {
    if (responseEnded) {
      Chunks.release(last);
      return;
    }
    boolean body = last != null && last.length() > 0;
    if (!body) {
      Chunks.release(last);
    }
    boolean withTrailers = trailers != null && !trailers.isEmpty();
    if (!headWritten) {
      ResponseFramingHeaders.declareLength(http2ResponseHeaders(), method, status, body ? last.length() : 0);
    }
    responseEnded = true;
    boolean headEnds = !body && !withTrailers;
    if (!sendHead(headEnds) || body) {
      ByteBuf data = body ? Chunks.take(last) : Unpooled.EMPTY_BUFFER;
      if (body || !withTrailers) {
        owner.handler.encoder().writeData(owner.ctx, stream.id(), data, 0, !withTrailers, owner.quiet);
      }
    }
    if (withTrailers) {
      owner.handler.encoder().writeHeaders(owner.ctx, stream.id(), trailers, 0, true, owner.quiet);
    }
    owner.channel.flush();
  }

  @Override
  public void reset(long code) {
    responseEnded = true;
    resetStream(code);
  }

  @Override
  public void writeContinue() {
    informational(100, null);
  }

  @Override
  public void writeEarlyHints(MultiMap hints) {
    informational(103, hints);
  }

  private void informational(int code, MultiMap headers) {
    if (headWritten || responseEnded) {
      return;
    }
    Http2Headers head = new DefaultHttp2Headers().status(HttpResponseStatus.valueOf(code).codeAsText());
    if (headers != null) {
      new Http2HeadersAdaptor(head).addAll(headers);
    }
    owner.handler.encoder().writeHeaders(owner.ctx, stream.id(), head, 0, false, owner.quiet);
    owner.channel.flush();
  }
}
