package io.muxgate.origin;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.ssl.SslHandler;
import io.vertx.core.net.impl.ShutdownEvent;

import java.util.concurrent.TimeUnit;
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
public final class GoAwayOnClose extends ChannelDuplexHandler {

  /**
   * How long a connection closed after an error's GOAWAY keeps reading what the peer still sends.
   * {@code -Dmuxgate.error_linger_ms} lengthens it for a test that tells a stop's close from the linger's end.
   */
  private static final long LINGER_MS = Long.getLong("muxgate.error_linger_ms", 2000);

  private final Http2ConnectionHandler codec;
  private final ChannelHandlerContext codecContext;
  private final BooleanSupplier reading;
  /** Whether the last GOAWAY sent named an error: the peer may still be sending. */
  private boolean errorSent;
  private boolean lingering;

  private GoAwayOnClose(Http2ConnectionHandler codec, ChannelHandlerContext codecContext, BooleanSupplier reading,
                        boolean lingerAfterError) {
    this.codec = codec;
    this.codecContext = codecContext;
    this.reading = reading;
    if (lingerAfterError) {
      codec.connection().addListener(new Http2ConnectionAdapter() {
        @Override
        public void onGoAwaySent(int lastStreamId, long errorCode, ByteBuf debugData) {
          errorSent = errorCode != Http2Error.NO_ERROR.code();
        }
      });
    }
  }

  /**
   * Installs it before the codec whose pipeline context is {@code codecContext}; {@code reading} tells
   * whether the peer's bytes are being read at the moment. With {@code lingerAfterError} (client
   * connections) a close after a GOAWAY that named an error lingers ({@link #linger}).
   */
  public static void install(ChannelHandlerContext codecContext, BooleanSupplier reading, boolean lingerAfterError) {
    Http2ConnectionHandler codec = (Http2ConnectionHandler) codecContext.handler();
    codecContext.pipeline().addBefore(codecContext.name(), null,
      new GoAwayOnClose(codec, codecContext, reading, lingerAfterError));
  }

  @Override
  public void close(ChannelHandlerContext ctx, ChannelPromise promise) throws Exception {
    if (lingering) {
      // The codec's own close once its GOAWAY is written, among others: the linger ends the connection.
      ctx.channel().closeFuture().addListener(closed -> promise.trySuccess());
      return;
    }
    Http2Connection connection = codec.connection();
    if (reading.getAsBoolean() && ctx.channel().isActive() && !connection.goAwaySent()) {
      codec.goAway(codecContext, connection.remote().lastStreamCreated(), Http2Error.PROTOCOL_ERROR.code(),
        Unpooled.EMPTY_BUFFER, codecContext.newPromise());
      codecContext.flush();
    }
    if (errorSent && ctx.channel() instanceof DuplexChannel socket && socket.isActive()
      && ctx.pipeline().get(SslHandler.class) == null) {
      linger(ctx, socket, promise);
      return;
    }
    ctx.close(promise);
  }

  /** A graceful stop ends a linger at once: the connection has nothing in flight to wait for. */
  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object event) throws Exception {
    if (lingering && event instanceof ShutdownEvent) {
      ctx.close();
    }
    super.userEventTriggered(ctx, event);
  }

  /**
   * Closes after an error's GOAWAY the way nginx and HAProxy do: FIN once the GOAWAY is out, then the
   * peer's bytes still arriving are read (the codec drops them) until it closes too, LINGER_MS at most.
   * Closed at once over unread bytes, as when a client's upload ran on behind the malformed frame, the
   * socket was reset by the kernel, and a peer that had not read the GOAWAY yet may lose it. Over TLS the
   * close is the TLS handler's (close_notify first), which a probe with 1 MB behind the frame saw end in a FIN.
   */
  private void linger(ChannelHandlerContext ctx, DuplexChannel socket, ChannelPromise promise) {
    lingering = true;
    socket.closeFuture().addListener(closed -> promise.trySuccess());
    ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(written -> socket.shutdownOutput());
    // From this handler's context, the close passes it by.
    ctx.executor().schedule(() -> ctx.close(), LINGER_MS, TimeUnit.MILLISECONDS);
  }
}
