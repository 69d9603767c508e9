package io.muxgate.origin;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http2.DecoratingHttp2FrameWriter;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2FrameWriter;

/**
 * Around the frame writer of an origin connection's HTTP/2 codec, for the frames that end the connection,
 * whoever sends them (Vert.x's close, the codec after an error, {@link GoAwayOnClose}): GOAWAY names
 * last-stream-id 0. Its last-stream-id is the highest stream the <em>peer</em> opened that the sender may
 * act on (RFC 9113, section 6.8), and an origin opens none here (server push is off). Netty names 2^31-1
 * in the GOAWAY it sends after a connection error, a server's choice; nghttp2 (Node's origins) takes that
 * from a client for a protocol error of its own and reports -505 in place of the error code the proxy sent.
 */
final class EndingFrames extends DecoratingHttp2FrameWriter {

  private final Http2Connection connection;

  private EndingFrames(Http2FrameWriter writer, Http2Connection connection) {
    super(writer);
    this.connection = connection;
  }

  /** Installs it on {@code codec}, an origin connection's; call on its event loop. */
  static void install(Http2ConnectionHandler codec) {
    ConnectionInternals.wrapFrameWriter(codec.encoder(), writer -> new EndingFrames(writer, codec.connection()));
  }

  @Override
  public ChannelFuture writeGoAway(ChannelHandlerContext ctx, int lastStreamId, long errorCode, ByteBuf debugData,
                                   ChannelPromise promise) {
    int originsLast = connection.remote().lastStreamCreated();
    return super.writeGoAway(ctx, Math.min(lastStreamId, originsLast), errorCode, debugData, promise);
  }
}
