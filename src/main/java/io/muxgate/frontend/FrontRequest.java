package io.muxgate.frontend;

import io.muxgate.forward.Downstream;
import io.muxgate.forward.LingeringClose;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Stream;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.StreamResetException;
import io.vertx.core.http.impl.headers.Http2HeadersAdaptor;
import io.vertx.core.impl.buffer.VertxByteBufAllocator;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.net.HostAndPort;

import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * The request half of a {@link FrontStream}: its head as the client's HEADERS carried it, and its body
 * delivered to the exchange as Vert.x's server stream delivers it for the same frames: body bytes go back
 * to the client's window only once delivered (a paused request holds them), and once the response is out
 * whole a request that goes on is read and dropped while it flows, then the client told to stop. It is the
 * stream's superclass rather than an object of its own so that a client stream stays one object.
 */
abstract sealed class FrontRequest implements Downstream permits FrontStream {

  /** How long a client answered early may send nothing before it is told to stop, as on Vert.x's streams. */
  private static final long LINGER_NANOS = TimeUnit.MILLISECONDS.toNanos(LingeringClose.LINGER_MS);
  private static final long DRAIN_NANOS = LingeringClose.EARLY_ANSWER_DRAIN_NANOS;

  final FrontStreams owner;
  final Http2Stream stream;
  private final Http2Headers requestHead;
  final HttpMethod method;
  private final String uri;
  /** {@link #uri} without its query: asked for by zone routing and the access log alike. */
  private final String path;
  private final HostAndPort authority;
  private MultiMap requestHeaders;
  private Events events;
  private boolean paused;
  /** Body chunks read while paused, their bytes not yet back in the client's window. */
  private ArrayDeque<Buffer> held;
  /** The bytes of {@link #held}, counted in the process's budget of held upload bytes. */
  private int heldBytes;
  private boolean endHeld;
  private final boolean endedWithHead;
  private Http2Headers requestTrailers;
  private boolean ended;
  private boolean failed;
  /** The proxy reset the stream while the client could still send on it; Netty still holds it open. */
  private boolean resetSent;
  /** When the body of this upload answered early began to be dropped (System.nanoTime); 0 before. */
  private long drainStarted;
  /** DATA came since the drain's last look at the stream. */
  private boolean drainedData;

  FrontRequest(FrontStreams owner, Http2Stream stream, Http2Headers head, HttpMethod method, String uri,
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
    this.endedWithHead = end;
  }

  final int id() {
    return stream.id();
  }

  // ---- the head -----------------------------------------------------------------------------------

  @Override
  public final HttpMethod method() {
    return method;
  }

  @Override
  public final HttpVersion version() {
    return HttpVersion.HTTP_2;
  }

  @Override
  public final String uri() {
    return uri;
  }

  @Override
  public final String path() {
    return path;
  }

  @Override
  public final HostAndPort authority() {
    return authority;
  }

  @Override
  public final MultiMap headers() {
    if (requestHeaders == null) {
      requestHeaders = new Http2HeadersAdaptor(requestHead);
    }
    return requestHeaders;
  }

  @Override
  public final String header(CharSequence name) {
    // the list itself: no adaptor (which would also join cookies) just to read one value
    CharSequence value = requestHead.get(name);
    return value == null ? null : value.toString();
  }

  @Override
  public final Http2Headers http2Headers() {
    return requestHead;
  }

  @Override
  public final String remoteHost() {
    return owner.remoteHost;
  }

  @Override
  public final boolean tls() {
    return owner.tls;
  }

  @Override
  public final CharSequence scheme() {
    return requestHead.scheme();
  }

  @Override
  public final HttpServerRequest vertxRequest() {
    return null;
  }

  // ---- the body -----------------------------------------------------------------------------------

  @Override
  public final void bind(Events events) {
    this.events = events;
    deliverHeld();
  }

  @Override
  public final void pause() {
    paused = true;
  }

  @Override
  public final void resume() {
    if (paused) {
      paused = false;
      deliverHeld();
    }
  }

  @Override
  public final boolean isEnded() {
    return ended;
  }

  /** A DATA frame of the request; returns the bytes (padding included) to give back to the client's window at once. */
  final int onData(ByteBuf data, int padding, boolean end) {
    if (resetSent) {
      return 0; // in flight when the client was told to stop (ResetFence)
    }
    if (discarding()) {
      // Dropped, and given back to the window at once: clients that read no response before their upload
      // is sent (the JDK's HttpClient, Jetty's) get their answer once the body is through, as from HAProxy.
      drainedData = true;
      if (end) {
        read(Unpooled.EMPTY_BUFFER, true);
      }
      return data.readableBytes() + padding;
    }
    return read(data, end) + padding;
  }

  /** The response went out whole while the request goes on: its body is dropped until it ends or the reset. */
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
        if (!owner.forwarder.heldUploadBytes().tryHold(bytes)) {
          // Each stream's window bounds what it holds, but not what all of them hold together
          events.onOverBudget();
          return bytes;
        }
        heldBytes += bytes;
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
  final void onTrailers(Http2Headers trailers, boolean end) {
    if (end && !resetSent) {
      requestTrailers = trailers.isEmpty() ? null : trailers;
      read(Unpooled.EMPTY_BUFFER, true);
    }
  }

  @Override
  public final boolean endedWithHead() {
    return endedWithHead;
  }

  @Override
  public final Http2Headers requestTrailers() {
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
      heldBytes -= chunk.length();
      owner.forwarder.heldUploadBytes().release(chunk.length());
      events.onData(chunk);
      returnToWindow(chunk.length());
    }
  }

  private void returnToWindow(int bytes) {
    if (stream.state() == Http2Stream.State.CLOSED) {
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

  // ---- the end of the stream ----------------------------------------------------------------------

  /**
   * The whole response is written and the client still sends its request (the origin answered an upload
   * early, or the proxy refused it). The body is read and dropped while it flows, its bytes held for a paused
   * request included, as Vert.x's streams and HAProxy do: RFC 9113, section 8.1 has clients keep such a
   * response, but the JDK's and Jetty's HttpClient fail an upload cut by RST_STREAM(NO_ERROR). A client that
   * sends nothing for LINGER_NANOS, or still sends after DRAIN_NANOS, is asked to stop with that reset: left
   * alone, a client that neither sends nor resets would hold the stream, one of the connection's concurrent
   * streams, and one that never stops would be read for ever.
   */
  final void responseSentBeforeRequestEnded() {
    if (!discarding() || resetSent || drainStarted != 0) {
      return;
    }
    drainStarted = System.nanoTime();
    if (held != null) {
      returnToWindow(heldBytes);
      dropHeld();
    }
    lingerUntil(drainStarted + LINGER_NANOS);
  }

  private void lingerUntil(long nanoTime) {
    long delay = Math.min(nanoTime, drainStarted + DRAIN_NANOS) - System.nanoTime();
    owner.channel.eventLoop().schedule(this::resetIfSilent, Math.max(0, delay), TimeUnit.NANOSECONDS);
  }

  private void resetIfSilent() {
    if (resetSent || !discarding()) {
      return;
    }
    long now = System.nanoTime();
    if (drainedData && now - drainStarted < DRAIN_NANOS) {
      drainedData = false;
      lingerUntil(now + LINGER_NANOS);
    } else {
      resetSent = true;
      owner.fence.reset(stream, Http2Error.NO_ERROR.code());
    }
  }

  private void dropHeld() {
    held = null;
    owner.forwarder.heldUploadBytes().release(heldBytes);
    heldBytes = 0;
  }

  /** Resets the stream unless it is reset or closed already; behind the fence if the client may still send. */
  final void resetStream(long code) {
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

  final void onReset(long code) {
    fail(new StreamResetException(code));
  }

  final void fail(Throwable cause) {
    if (failed) {
      return;
    }
    failed = true;
    dropHeld();
    if (events != null) {
      events.onFailure(cause);
    }
  }
}
