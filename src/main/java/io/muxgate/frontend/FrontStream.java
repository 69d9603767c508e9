package io.muxgate.frontend;

import io.muxgate.forward.Downstream;
import io.muxgate.origin.Chunks;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Stream;
import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.StreamResetException;
import io.vertx.core.http.impl.headers.Http2HeadersAdaptor;
import io.vertx.core.impl.buffer.VertxByteBufAllocator;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.net.HostAndPort;

import java.util.ArrayDeque;

/**
 * One client request/response on a {@link FrontStreams} connection, as HTTP/2 frames. It behaves as
 * Vert.x's server stream does for the same frames: request body bytes go back to the client's window
 * only once delivered (a paused request holds them), the response waits on the stream's window and the
 * socket ({@link #writeQueueFull}), and the headers that frame the response body are fitted to it
 * ({@link ResponseFramingHeaders}).
 */
final class FrontStream implements Downstream {

  private final FrontStreams owner;
  private final Http2Stream stream;
  private final Http2Headers requestHead;
  private final HttpMethod method;
  private final String uri;
  /** {@link #uri} without its query: asked for by zone routing and the access log alike. */
  private final String path;
  private final HostAndPort authority;
  private MultiMap requestHeaders;
  private Events events;
  private boolean paused;
  /** Body chunks read while paused, their bytes not yet back in the client's window. */
  private ArrayDeque<Buffer> held;
  private boolean endHeld;
  private Http2Headers requestTrailers;
  private boolean ended;
  private boolean failed;
  /** The proxy reset the stream while the client could still send on it; Netty still holds it open. */
  private boolean resetSent;

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
    this.owner = owner;
    this.stream = stream;
    this.requestHead = head;
    this.method = method;
    this.uri = uri;
    int query = uri.indexOf('?');
    this.path = query < 0 ? uri : uri.substring(0, query);
    this.authority = authority;
    this.endHeld = end;
  }

  /** The stream for a request head that {@link FrontStreams} found plain, or null if its authority is unreadable. */
  static FrontStream of(FrontStreams owner, Http2Stream stream, Http2Headers head, boolean end) {
    CharSequence authority = head.authority();
    if (authority == null) {
      authority = head.get(HttpHeaders.HOST);
    }
    HostAndPort parsed = HostAndPort.parseAuthority(authority.toString(), -1);
    if (parsed == null) {
      return null;
    }
    return new FrontStream(owner, stream, head, HttpMethod.valueOf(head.method().toString()), head.path().toString(),
      parsed, end);
  }

  int id() {
    return stream.id();
  }

  // ---- the request --------------------------------------------------------------------------------

  @Override
  public HttpMethod method() {
    return method;
  }

  @Override
  public HttpVersion version() {
    return HttpVersion.HTTP_2;
  }

  @Override
  public String uri() {
    return uri;
  }

  @Override
  public String path() {
    return path;
  }

  @Override
  public HostAndPort authority() {
    return authority;
  }

  @Override
  public MultiMap headers() {
    if (requestHeaders == null) {
      requestHeaders = new Http2HeadersAdaptor(requestHead);
    }
    return requestHeaders;
  }

  @Override
  public String header(CharSequence name) {
    // the list itself: no adaptor (which would also join cookies) just to read one value
    CharSequence value = requestHead.get(name);
    return value == null ? null : value.toString();
  }

  @Override
  public Http2Headers http2Headers() {
    return requestHead;
  }

  @Override
  public String remoteHost() {
    return owner.remoteHost;
  }

  @Override
  public boolean tls() {
    return owner.tls;
  }

  @Override
  public CharSequence scheme() {
    return requestHead.scheme();
  }

  @Override
  public HttpServerRequest vertxRequest() {
    return null;
  }

  @Override
  public void bind(Events events) {
    this.events = events;
    deliverHeld();
  }

  @Override
  public void pause() {
    paused = true;
  }

  @Override
  public void resume() {
    if (paused) {
      paused = false;
      deliverHeld();
    }
  }

  @Override
  public boolean isEnded() {
    return ended;
  }

  /** A DATA frame of the request; returns the bytes (padding included) to give back to the client's window at once. */
  int onData(ByteBuf data, int padding, boolean end) {
    if (resetSent) {
      return 0; // in flight when the client was told to stop (ResetFence)
    }
    int consumed = read(data, end) + padding;
    // Once the response's END_STREAM is out, the stream's window stays shut: a WINDOW_UPDATE between it and
    // the reset would only invite more of a body that is dropped. The reset closes the stream, and Netty then
    // gives its unconsumed bytes back to the connection's window.
    return discarding() ? 0 : consumed;
  }

  /** The response went out whole while the request goes on: its body is dropped until the reset. */
  private boolean discarding() {
    return !ended && stream.state() == Http2Stream.State.HALF_CLOSED_LOCAL;
  }

  private int read(ByteBuf data, boolean end) {
    int bytes = data.readableBytes();
    if (ended || failed || events == null) {
      // events is only null for a request the forwarder refused (421, 413, 503): as Vert.x's server
      // does with a body nobody reads, it is dropped and its bytes go back to the client's window
      return bytes;
    }
    Buffer chunk = bytes == 0 ? null
      : BufferInternal.buffer(VertxByteBufAllocator.DEFAULT.heapBuffer(bytes).writeBytes(data));
    if (paused || held != null) {
      if (chunk != null) {
        if (held == null) {
          held = new ArrayDeque<>(4);
        }
        held.add(chunk);
      }
      endHeld |= end;
      return 0;
    }
    if (chunk != null) {
      events.onData(chunk);
    }
    if (end) {
      ended = true;
      events.onEnd();
    }
    return bytes;
  }

  /** Request trailers end the request; they go on to the origin where it is reached by HTTP/2. */
  void onTrailers(Http2Headers trailers, boolean end) {
    if (end && !resetSent) {
      requestTrailers = trailers.isEmpty() ? null : trailers;
      read(Unpooled.EMPTY_BUFFER, true);
    }
  }

  @Override
  public Http2Headers requestTrailers() {
    return requestTrailers;
  }

  private void deliverHeld() {
    while (events != null && !paused && !failed) {
      Buffer chunk = held == null ? null : held.poll();
      if (chunk == null) {
        held = null;
        if (endHeld && !ended) {
          ended = true;
          events.onEnd();
        }
        return;
      }
      events.onData(chunk);
      returnToWindow(chunk.length());
    }
  }

  private void returnToWindow(int bytes) {
    if (stream.state() == Http2Stream.State.CLOSED || discarding()) {
      return;
    }
    try {
      if (owner.handler.decoder().flowController().consumeBytes(stream, bytes)) {
        owner.channel.flush();
      }
    } catch (Http2Exception e) {
      // the stream is gone: its bytes went back to the connection window when it closed
    }
  }

  /**
   * The whole response is written and the client still sends its request (the origin answered an upload
   * early, or the proxy refused it): RFC 9113, section 8.1 lets the server ask it to stop without error.
   * Clients that wait to finish their upload before reading (curl) would otherwise stall once the stream's
   * window is spent.
   */
  void responseSentBeforeRequestEnded() {
    if (discarding() && !resetSent) {
      resetSent = true;
      owner.fence.reset(stream, Http2Error.NO_ERROR.code());
    }
  }

  void onReset(long code) {
    fail(new StreamResetException(code));
  }

  /** Netty closed the stream: both sides ended, the proxy or the client reset it, or the connection went. */
  void onClosed() {
    if (!responseEnded || !ended) {
      fail(new HttpClosedException("Stream was closed"));
    }
  }

  private void fail(Throwable cause) {
    if (failed) {
      return;
    }
    failed = true;
    held = null;
    if (events != null) {
      events.onFailure(cause);
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
    responseHead.status(HttpResponseStatus.valueOf(status).codeAsText());
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
    if (resetSent) {
      return;
    }
    if (stream.state() == Http2Stream.State.HALF_CLOSED_LOCAL) {
      resetSent = true;
      owner.fence.reset(stream, code);
    } else if (stream.state() != Http2Stream.State.CLOSED) {
      owner.handler.resetStream(owner.ctx, stream.id(), code, owner.ctx.newPromise());
      owner.channel.flush();
    }
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
