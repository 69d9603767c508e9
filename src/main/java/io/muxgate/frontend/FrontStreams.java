package io.muxgate.frontend;

import io.muxgate.forward.Forwarder;
import io.muxgate.origin.EndingFrames;
import io.muxgate.origin.GoAwayOnClose;
import io.muxgate.origin.LateFrames;
import io.muxgate.origin.OwnStreams;
import io.muxgate.origin.ReadTracking;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.VoidChannelPromise;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameListener;
import io.netty.handler.codec.http2.Http2FrameListenerDecorator;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2Stream;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.logging.Logger;
import io.vertx.core.internal.logging.LoggerFactory;
import io.vertx.core.net.impl.ConnectionBase;

/**
 * Client HTTP/2 streams the front end runs itself, frame by frame, on Netty's codec of a connection
 * Vert.x's server accepted — the client-side twin of {@code origin.FrameStreams}. Vert.x keeps the
 * connection's life (TLS, ALPN, SETTINGS, PING, GOAWAY and drain, idle close) and every stream it
 * should keep: CONNECT (except RFC 8441's WebSocket, which Vert.x's server does not carry)
 * and requests whose head it must judge (a {@code host} that names another
 * entity than {@code :authority}, see {@link HostBesideAuthority}); {@link PlainHeads} tells them apart.
 * Heads no stream can carry (a missing pseudo-header, a method that is no token) are answered by
 * {@link RefusedHeads}. A {@link FrontStream} skips Vert.x's server stream, request and response objects,
 * its message queues and one copy of each header list.
 *
 * <p>Everything here runs on the connection's event loop, which is also the loop of the requests' own
 * {@link io.muxgate.forward.Exchange exchanges}.
 */
public final class FrontStreams {

  /** {@code -Dmuxgate.front_streams=false} leaves every client stream to Vert.x's HTTP/2 server. */
  static final boolean ENABLED = !"false".equalsIgnoreCase(System.getProperty("muxgate.front_streams"));
  private static final Logger log = LoggerFactory.getLogger(FrontStreams.class);

  final Channel channel;
  final Http2ConnectionHandler handler;
  final Http2Connection connection;
  final ContextInternal context;
  final Forwarder forwarder;
  final boolean tls;
  /** For writes nobody waits on; a failed one is not fired down the pipeline (see origin.FrameStreams). */
  final ChannelPromise quiet;
  final ChannelHandlerContext ctx;
  final ResetFence fence;
  private final RefusedHeads refused;
  private final Http2Connection.PropertyKey key;
  final BlockedResponses blocked = new BlockedResponses();
  /** The highest client stream id whose first HEADERS were seen: a higher one opens a new stream. */
  private int lastOpened;
  /** The client's address as Vert.x reports it, for x-forwarded-for. */
  final String remoteHost;

  private FrontStreams(Channel channel, Http2ConnectionHandler handler, ContextInternal context, Forwarder forwarder,
                       boolean tls, String remoteHost) {
    this.channel = channel;
    this.handler = handler;
    this.connection = handler.connection();
    this.context = context;
    this.forwarder = forwarder;
    this.tls = tls;
    this.remoteHost = remoteHost;
    this.ctx = channel.pipeline().context(handler);
    this.quiet = new VoidChannelPromise(channel, false);
    this.key = connection.newKey();
    this.fence = new ResetFence(handler, ctx, quiet);
    this.refused = new RefusedHeads(handler, ctx, quiet, fence, forwarder, remoteHost, true);
    // Streams Vert.x already holds (stream 1 of an h2c upgrade) stay Vert.x's.
    this.lastOpened = connection.remote().lastStreamCreated();
    connection.addListener(new Http2ConnectionAdapter() {
      @Override
      public void onStreamHalfClosed(Http2Stream stream) {
        FrontStream s = stream.state() == Http2Stream.State.HALF_CLOSED_LOCAL ? stream.getProperty(key) : null;
        if (s != null) {
          // The response's last frame is on its way out while the request goes on.
          channel.eventLoop().execute(s::responseSentBeforeRequestEnded);
        }
      }

      @Override
      public void onStreamClosed(Http2Stream stream) {
        FrontStream s = stream.getProperty(key);
        if (s != null) {
          blocked.remove(s);
          s.onClosed();
        } else {
          refused.closed(stream, lastOpened);
        }
      }
    });
    Guard guard = new Guard();
    channel.pipeline().addFirst(guard);
    GoAwayOnClose.install(ctx, guard::reading, true);
    OwnStreams.closeWithChannel(channel, connection, key);
    handler.decoder().frameListener(new Interceptor(handler.decoder().frameListener()));
    OwnStreams.closeBeforeConnectionErrors(handler, key);
    // After OwnStreams, which reuses the reader FirstBurstErrors wrapped only if it is still the codec's.
    LateFrames.install(handler);
    // A reset response's DATA still held by flow control goes with its stream, not out behind its RST_STREAM.
    EndingFrames.installOnClient(handler);
  }

  /**
   * Takes over plain client streams of a Vert.x server connection if it speaks HTTP/2; HTTP/1.x is left
   * alone. Called from the server's connection handler, on the connection's loop, once Vert.x has read
   * the client's SETTINGS and set its frame listener. Returns whether it did; where it does not (switched
   * off), an HTTP/2 connection still gets {@link HostBesideAuthority}'s step in front of Vert.x.
   */
  public static boolean install(HttpConnection connection, Forwarder forwarder) {
    if (!(connection instanceof ConnectionBase base)) {
      return false;
    }
    Channel channel = base.channel();
    Http2ConnectionHandler handler = channel == null ? null : channel.pipeline().get(Http2ConnectionHandler.class);
    Http2FrameListener vertx = handler == null ? null : handler.decoder().frameListener();
    if (vertx == null || vertx == handler || !channel.eventLoop().inEventLoop()) {
      return false;
    }
    if (ENABLED) {
      try {
        new FrontStreams(channel, handler, base.context(), forwarder, base.isSsl(), base.remoteAddress().hostAddress());
        return true;
      } catch (RuntimeException e) {
        log.warn("HTTP/2 codec of a client connection out of reach (" + e + "): its streams go through Vert.x");
      }
    }
    // Vert.x reads every stream's head then; a host beside :authority is still settled before it does, and
    // a head it would reset unseen is answered.
    ChannelHandlerContext ctx = channel.pipeline().context(handler);
    ChannelPromise quiet = new VoidChannelPromise(channel, false);
    ResetFence fence = new ResetFence(handler, ctx, quiet);
    handler.decoder().frameListener(HostBesideAuthority.before(handler.decoder().frameListener(),
      handler.connection().remote().lastStreamCreated(), fence,
      new RefusedHeads(handler, ctx, quiet, fence, forwarder, base.remoteAddress().hostAddress(), false)));
    // Vert.x's streams are reset through the codec as well: the DATA a client had in flight is ignored alike.
    LateFrames.install(handler);
    EndingFrames.installOnClient(handler);
    return false;
  }

  private FrontStream ours(int streamId) {
    Http2Stream stream = connection.stream(streamId);
    return stream == null ? null : stream.getProperty(key);
  }

  /** Opens a stream of ours and hands it to the forwarder; false (Vert.x's then) if its authority is unreadable. */
  private boolean open(int streamId, Http2Headers headers, boolean end) {
    Http2Stream stream = connection.stream(streamId);
    FrontStream s = stream == null ? null : FrontStream.of(this, stream, headers, end);
    if (s == null) {
      return false;
    }
    stream.setProperty(key, s);
    context.emit(s, client -> forwarder.handle(client, context));
    return true;
  }

  /**
   * First in the pipeline: sees each read of the client's bytes and wakes responses blocked on socket
   * room.
   */
  private final class Guard extends ReadTracking {

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      ctx.fireChannelWritabilityChanged();
      blocked.wake(0);
    }
  }

  private final class Interceptor extends Http2FrameListenerDecorator {

    Interceptor(Http2FrameListener vertx) {
      super(vertx);
    }

    @Override
    public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean end)
      throws Http2Exception {
      FrontStream s = ours(streamId);
      if (s == null) {
        return super.onDataRead(ctx, streamId, data, padding, end);
      }
      return s.onData(data, padding, end);
    }

    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding, boolean end)
      throws Http2Exception {
      if (!take(streamId, headers, end)) {
        super.onHeadersRead(ctx, streamId, headers, padding, end);
      }
    }

    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int dependency,
                              short weight, boolean exclusive, int padding, boolean end) throws Http2Exception {
      if (!take(streamId, headers, end)) {
        super.onHeadersRead(ctx, streamId, headers, dependency, weight, exclusive, padding, end);
      }
    }

    /**
     * Handles the HEADERS frame if it opens a plain stream or one no stream can carry, or belongs to one of
     * those (trailers).
     */
    private boolean take(int streamId, Http2Headers headers, boolean end) {
      if (streamId > lastOpened) {
        lastOpened = streamId;
        if (PlainHeads.isPlain(headers) && open(streamId, headers, end)) {
          return true;
        }
        return refused.refuse(streamId, headers, end);
      }
      FrontStream s = ours(streamId);
      if (s == null) {
        return refused.answered(streamId);
      }
      s.onTrailers(headers, end);
      return true;
    }

    @Override
    public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) throws Http2Exception {
      FrontStream s = ours(streamId);
      if (s == null) {
        super.onRstStreamRead(ctx, streamId, errorCode);
      } else {
        s.onReset(errorCode);
      }
    }

    @Override
    public void onWindowUpdateRead(ChannelHandlerContext ctx, int streamId, int increment) throws Http2Exception {
      super.onWindowUpdateRead(ctx, streamId, increment);
      blocked.wake(streamId);
    }

    @Override
    public void onPingAckRead(ChannelHandlerContext ctx, long data) throws Http2Exception {
      if (!fence.onPingAck(data)) {
        super.onPingAckRead(ctx, data);
      }
    }

    @Override
    public void onSettingsRead(ChannelHandlerContext ctx, Http2Settings settings) throws Http2Exception {
      super.onSettingsRead(ctx, settings);
      blocked.wake(0); // a new initial window size changes every stream's window
    }
  }
}
