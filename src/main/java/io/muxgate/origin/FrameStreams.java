package io.muxgate.origin;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.VoidChannelPromise;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameListener;
import io.netty.handler.codec.http2.Http2FrameListenerDecorator;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2Stream;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.internal.ContextInternal;

import java.util.ArrayList;
import java.util.List;

/**
 * Streams Muxgate runs itself, frame by frame, on Netty's HTTP/2 codec of an origin connection that
 * Vert.x opened. Vert.x keeps the connection's life (TLS, ALPN, SETTINGS, PING, GOAWAY, close) and any
 * stream it opens; a {@link FrameStream} skips Vert.x's per-stream layer — its stream objects, message
 * queues and header adaptors, about a fifth of the proxy's CPU per request — and with it one copy of
 * the response headers.
 *
 * <p>Frames for these streams are taken before they reach Vert.x's frame listener; every other frame
 * goes on to it. Everything here runs on the connection's event loop; a request on another loop drives
 * its stream through queued tasks and hears back on its own context (one hop each way, as with Vert.x's
 * own streams).
 */
public final class FrameStreams {

  /**
   * {@code -Dmuxgate.frame_streams=false} sends every HTTP/2 origin stream through Vert.x's client
   * streams again: slower, and there if an origin ever meets a difference between the two.
   */
  static final boolean ENABLED = !"false".equalsIgnoreCase(System.getProperty("muxgate.frame_streams"));
  static final String GUARD = "muxgate-frame-guard";

  final Channel channel;
  final Http2ConnectionHandler handler;
  final ChannelHandlerContext ctx;
  final Http2Connection connection;
  /**
   * For writes nobody waits on. Unlike {@code ctx.voidPromise()} it does not fire a failed write down
   * the pipeline: a reset cancels the stream's queued DATA, and Vert.x closes the whole connection on
   * any exception that reaches it. Stream and connection errors still reach the codec's own handling.
   */
  final ChannelPromise quiet;
  private final Http2Connection.PropertyKey key;
  /** Streams with request body waiting for flow-control window or socket room. */
  private final List<FrameStream> blocked = new ArrayList<>();
  private boolean closedOnError;

  private FrameStreams(Channel channel, Http2ConnectionHandler handler) {
    this.channel = channel;
    this.handler = handler;
    this.ctx = channel.pipeline().context(handler);
    this.connection = handler.connection();
    this.quiet = new VoidChannelPromise(channel, false);
    this.key = connection.newKey();
    connection.addListener(new Http2ConnectionAdapter() {
      @Override
      public void onStreamClosed(Http2Stream stream) {
        FrameStream s = stream.getProperty(key);
        if (s != null) {
          s.onClosed();
        }
      }

      @Override
      public void onStreamHalfClosed(Http2Stream stream) {
        FrameStream s = stream.getProperty(key);
        if (s != null && stream.state() == Http2Stream.State.HALF_CLOSED_REMOTE) {
          s.onRemoteEnd();
        }
      }
    });
    Guard guard = new Guard();
    channel.pipeline().addFirst(GUARD, guard);
    GoAwayOnClose.install(ctx, guard::reading, false);
    OwnStreams.closeWithChannel(channel, connection, key);
    handler.decoder().frameListener(new Interceptor(handler.decoder().frameListener()));
    OwnStreams.closeBeforeConnectionErrors(handler, key);
  }

  /**
   * Takes over the frames of its own streams on {@code channel}'s HTTP/2 connection, or returns null
   * (HTTP/1.1, or the codec is not where Vert.x 5.0 puts it). Call on the channel's loop once Vert.x
   * has read the origin's first SETTINGS: Vert.x sets its frame listener then and not again.
   */
  static FrameStreams install(Channel channel) {
    Http2ConnectionHandler handler = ConnectionInternals.http2CodecOf(channel);
    Http2FrameListener vertx = handler == null ? null : handler.decoder().frameListener();
    if (vertx == null || vertx == handler) {
      return null;
    }
    return new FrameStreams(channel, handler);
  }

  /** Whether the caller runs on this connection's event loop, where its streams must be driven from. */
  public boolean inLoop() {
    return channel.eventLoop().inEventLoop();
  }

  /**
   * Opens a stream. Its HEADERS frame goes out with the first body chunk or the end, so that a request
   * without a body leaves as one HEADERS frame with END_STREAM; only then does the stream take an id.
   * If the connection takes no new stream by then (GOAWAY, closed, the origin's limit reached), the
   * sink gets an unprocessed {@link OriginFailure}. Called from another loop than the connection's, the
   * stream's events reach {@code sink} on {@code caller}, in order.
   */
  public FrameStream open(Http2Headers head, OriginStream.Sink sink, ContextInternal caller) {
    return new FrameStream(this, head, inLoop() ? sink : new OnContext(caller, sink));
  }

  /** Netty's stream for {@code s}, the next id in order; its HEADERS frame must follow at once. */
  Http2Stream create(FrameStream s) {
    if (!channel.isActive()) {
      throw new OriginFailure(FailureKind.UNPROCESSED, OriginFailure.NOT_SENT);
    }
    int last = connection.local().lastStreamCreated();
    Http2Stream stream;
    try {
      stream = connection.local().createStream(last == 0 ? 1 : last + 2, false);
    } catch (Http2Exception e) {
      throw new OriginFailure(FailureKind.UNPROCESSED, e.error() == Http2Error.REFUSED_STREAM
        ? OriginFailure.REFUSED_STREAM : OriginFailure.NOT_SENT, e);
    }
    stream.setProperty(key, s);
    return stream;
  }

  void block(FrameStream s) {
    if (!blocked.contains(s)) {
      blocked.add(s);
    }
  }

  /** Gives blocked streams of {@code streamId} (0: all) the chance to go on. */
  private void unblock(int streamId) {
    if (blocked.isEmpty()) {
      return;
    }
    try {
      handler.encoder().flowController().writePendingBytes();
    } catch (Http2Exception e) {
      return; // the codec reports it on the connection itself
    }
    // A woken stream's sink writes at once on this loop, and a write can change the socket's writability,
    // which runs this again inside the loop: the list may be shorter when the sink returns. The index
    // comes back within it (an entry seen twice is checked again) instead of running past its end, which
    // threw out of the WINDOW_UPDATE's handling and ended the connection with every upload on it.
    for (int i = blocked.size() - 1; i >= 0; i = Math.min(i - 1, blocked.size() - 1)) {
      FrameStream s = blocked.get(i);
      if ((streamId == 0 || s.sentId() == streamId) && s.writableOrGone()) {
        blocked.remove(i);
        s.unblocked();
      }
    }
  }

  /** Whether the connection was closed by the proxy while reading from it: the codec found an error. */
  boolean closedOnError() {
    return closedOnError;
  }

  /**
   * First in the pipeline: tells a close made while reading (the codec or Vert.x gave up on the
   * origin's bytes) from one the origin made, and wakes streams blocked on socket room.
   */
  private final class Guard extends ReadTracking {

    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
      if (reading()) {
        closedOnError = true;
      }
      ctx.close(promise);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      ctx.fireChannelWritabilityChanged();
      unblock(0);
    }
  }

  /** A sink's events moved from the connection's loop to the request's. */
  private record OnContext(ContextInternal caller, OriginStream.Sink target) implements OriginStream.Sink {

    @Override
    public void onInformational(int status, MultiMap headers) {
      caller.execute(() -> target.onInformational(status, headers));
    }

    @Override
    public void onResponseHead(int status, Http2Headers headers, boolean end) {
      caller.execute(() -> target.onResponseHead(status, headers, end));
    }

    @Override
    public void onResponseHead(int status, MultiMap headers, HttpVersion version, boolean end) {
      caller.execute(() -> target.onResponseHead(status, headers, version, end));
    }

    @Override
    public void onResponseData(Buffer chunk, boolean end) {
      caller.execute(() -> target.onResponseData(chunk, end));
    }

    @Override
    public void onResponseTrailers(MultiMap trailers) {
      caller.execute(() -> target.onResponseTrailers(trailers));
    }

    @Override
    public void onBlocked() {
      caller.execute(target::onBlocked);
    }

    @Override
    public void onWritable() {
      caller.execute(target::onWritable);
    }

    @Override
    public void onFailure(Throwable cause) {
      caller.execute(() -> target.onFailure(cause));
    }
  }

  private FrameStream ours(int streamId) {
    Http2Stream stream = connection.stream(streamId);
    return stream == null ? null : stream.getProperty(key);
  }

  private final class Interceptor extends Http2FrameListenerDecorator {

    Interceptor(Http2FrameListener vertx) {
      super(vertx);
    }

    @Override
    public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean end)
      throws Http2Exception {
      FrameStream s = ours(streamId);
      if (s == null) {
        return super.onDataRead(ctx, streamId, data, padding, end);
      }
      return s.onData(data, end) + padding;
    }

    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding, boolean end)
      throws Http2Exception {
      FrameStream s = ours(streamId);
      if (s == null) {
        super.onHeadersRead(ctx, streamId, headers, padding, end);
      } else {
        s.onHeaders(headers, end);
      }
    }

    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int dependency,
                              short weight, boolean exclusive, int padding, boolean end) throws Http2Exception {
      FrameStream s = ours(streamId);
      if (s == null) {
        super.onHeadersRead(ctx, streamId, headers, dependency, weight, exclusive, padding, end);
      } else {
        s.onHeaders(headers, end);
      }
    }

    @Override
    public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) throws Http2Exception {
      FrameStream s = ours(streamId);
      if (s == null) {
        super.onRstStreamRead(ctx, streamId, errorCode);
      } else {
        s.onReset(errorCode);
      }
    }

    @Override
    public void onWindowUpdateRead(ChannelHandlerContext ctx, int streamId, int increment) throws Http2Exception {
      super.onWindowUpdateRead(ctx, streamId, increment);
      unblock(streamId);
    }

    @Override
    public void onSettingsRead(ChannelHandlerContext ctx, Http2Settings settings) throws Http2Exception {
      super.onSettingsRead(ctx, settings);
      unblock(0); // a new initial window size changes every stream's window
    }
  }
}
