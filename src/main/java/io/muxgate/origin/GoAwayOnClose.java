package io.muxgate.origin;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Error;

import java.util.function.BooleanSupplier;

/**
 * Says GOAWAY when an HTTP/2 connection with frame streams is closed over the peer's bytes without one.
 * Vert.x 5.0.10 sends that GOAWAY itself after a connection error, but first fails each of its streams
 * and stops at the first stream that is not its own, so the codec's GOAWAY never goes out. Most errors
 * find our streams closed already ({@link OwnStreams#closeBeforeConnectionErrors}); a malformed frame
 * Netty's frame reader finds in the very read that brought the SETTINGS we took an origin connection over
 * on ends here (a client connection's reader is guarded from its first byte: frontend.FirstBurstErrors),
 * as do all of them if the reader is out of reach. The error is out of sight here;
 * PROTOCOL_ERROR is HTTP/2's code for an unspecified one. A close through the codec (a drain, an idle
 * close) has sent its own GOAWAY by the time it gets here.
 *
 * <p>Sits just before the codec, so that its closes pass here before flush batching and TLS, which flush
 * on close. Used on both sides: client connections ({@code frontend.FrontStreams}) and origin ones.
 */
public final class GoAwayOnClose extends ChannelOutboundHandlerAdapter {

  private final Http2ConnectionHandler codec;
  private final ChannelHandlerContext codecContext;
  private final BooleanSupplier reading;

  private GoAwayOnClose(Http2ConnectionHandler codec, ChannelHandlerContext codecContext, BooleanSupplier reading) {
    this.codec = codec;
    this.codecContext = codecContext;
    this.reading = reading;
  }

  /**
   * Installs it before the codec whose pipeline context is {@code codecContext}; {@code reading} tells
   * whether the peer's bytes are being read at the moment.
   */
  public static void install(ChannelHandlerContext codecContext, BooleanSupplier reading) {
    Http2ConnectionHandler codec = (Http2ConnectionHandler) codecContext.handler();
    codecContext.pipeline().addBefore(codecContext.name(), null, new GoAwayOnClose(codec, codecContext, reading));
  }

  @Override
  public void close(ChannelHandlerContext ctx, ChannelPromise promise) throws Exception {
    Http2Connection connection = codec.connection();
    if (reading.getAsBoolean() && ctx.channel().isActive() && !connection.goAwaySent()) {
      codec.goAway(codecContext, connection.remote().lastStreamCreated(), Http2Error.PROTOCOL_ERROR.code(),
        Unpooled.EMPTY_BUFFER, codecContext.newPromise());
      codecContext.flush();
    }
    ctx.close(promise);
  }
}
