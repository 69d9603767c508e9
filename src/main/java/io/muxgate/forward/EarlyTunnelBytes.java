package io.muxgate.forward;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.impl.buffer.VertxByteBufAllocator;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.net.impl.ConnectionBase;

/**
 * What an HTTP/1.1 client sends behind its WebSocket Upgrade request before the tunnel opens: a client may
 * send its first frames in the same write as the request, without waiting for the 101. Left to Vert.x's
 * request decoder, those bytes are lost. The decoder reads on past the request as if a next one followed:
 * it skips what looks like control characters or white space and takes a run up to a line feed as a request
 * line (a bad one). What it has not consumed yet it hands on when Vert.x removes it to make the connection a
 * socket, but at that moment the next handler is still Vert.x's HTTP connection, which drops raw bytes.
 *
 * <p>So the tunnel puts this handler in the decoder's place, under its name, while the upgrade request is
 * still being handed up: the decoder then stops right after the request (Netty's decoder checks for its
 * removal between messages) and passes this handler what it holds. This handler keeps every byte read
 * from then on, and stops reading, until {@link #replay} hands them to the tunnel, or, if no tunnel opens,
 * {@link #discard} drops them: with no decoder left, that connection closes after its answer.
 */
final class EarlyTunnelBytes extends ChannelInboundHandlerAdapter {

  /** Vert.x's HTTP/1.x request decoder, which Vert.x removes by this name when the connection becomes a socket. */
  private static final String DECODER = "httpDecoder";

  private final Channel channel;
  /** Bytes read behind the upgrade request, copied to the heap (nothing to release on any path); null if none. */
  private ByteBuf held;
  private boolean discarding;

  private EarlyTunnelBytes(Channel channel) {
    this.channel = channel;
  }

  /**
   * Takes the decoder's place on {@code request}'s connection. Must run while the request is being handed
   * up (its handler, on the event loop): later, the decoder may already have read the bytes behind it.
   * Null if the connection has no such decoder (not HTTP/1.x, or a channel Vert.x does not show).
   */
  static EarlyTunnelBytes install(HttpServerRequest request) {
    Channel channel = request.connection() instanceof ConnectionBase connection ? connection.channel() : null;
    if (channel == null || channel.pipeline().get(DECODER) == null) {
      return null;
    }
    EarlyTunnelBytes early = new EarlyTunnelBytes(channel);
    // Held bytes wait on the origin's answer: no more than one read's worth, and, until the tunnel's relay
    // listens, nothing reaches the socket Vert.x makes of the connection, which would drop it.
    channel.config().setAutoRead(false);
    channel.pipeline().replace(DECODER, DECODER, early);
    return early;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof ByteBuf bytes)) {
      ctx.fireChannelRead(msg); // the request's end, which the decoder had read and hands on after this took over
      return;
    }
    try {
      if (!discarding && bytes.isReadable()) {
        if (held == null) {
          held = VertxByteBufAllocator.DEFAULT.heapBuffer(bytes.readableBytes());
        }
        held.writeBytes(bytes);
      }
    } finally {
      bytes.release();
    }
  }

  /**
   * The tunnel is open: the bytes held go to {@code relay}, the tunnel's handler of the client's bytes, and
   * only then does the connection read again, so that what follows them comes after them. Called once the
   * connection is a socket with that handler in place.
   */
  void replay(Handler<Buffer> relay) {
    ByteBuf bytes = held;
    held = null;
    if (bytes != null) {
      relay.handle(BufferInternal.buffer(bytes));
    }
    channel.config().setAutoRead(true);
  }

  /**
   * No tunnel: what was and will be read is dropped (it is no HTTP request), reading on so that the close
   * after the answer finds nothing unread, which would make the kernel reset the connection.
   */
  void discard() {
    discarding = true;
    held = null;
    channel.config().setAutoRead(true);
  }
}
