package io.muxgate.origin;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.VoidChannelPromise;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.PromiseNotifier;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Answers each write's promise as its bytes are handed to TLS, rather than once TLS has sent them. Netty's
 * {@link SslHandler} chains every write's promise to the record it ends up in, and the HTTP/2 codec
 * writes each frame in parts with a promise apiece: that bookkeeping was about 5 % of the proxy's CPU per
 * small request. Nothing on Muxgate's side waits for a write to reach the socket (backpressure follows the
 * channel's writability, which still counts these bytes), except a close that follows the last write.
 *
 * <p>So a close is held while bytes answered early may still be queued: it goes on once an empty write
 * queued behind them has been sent, or after {@link #CLOSE_HOLD_MILLIS} if the peer reads nothing that
 * long. Without the hold, a close after an HTTP/1.1 {@code Connection: close} response, or at the end of
 * an HTTP/2 GOAWAY drain, would leave TLS only its close_notify timeout (3 s) to send what was queued,
 * and a slow client would lose the end of its response. A peer whose connection drops fails the empty
 * write, which lets the close go at once. A write that fails after it was answered is not reported on
 * its own: the connection closes, and its close is what the writer hears.
 *
 * <p>Only after the handshake: until then TLS holds writes back, and a failed handshake should fail them.
 */
final class TlsHandOff extends ChannelDuplexHandler {

  /** The longest a close waits for queued bytes to leave; a client reading slower loses the rest. */
  static final long CLOSE_HOLD_MILLIS = 60_000;
  private static final String NAME = "muxgate-tls-hand-off";

  private final ChannelPromise answered;
  private final long holdMillis;
  private boolean handshaken;
  /** A write was answered early; closes from now on wait for the bytes. */
  private boolean answeredAny;
  /** A close was asked for: writes keep their promises, and later closes are not held again. */
  private boolean closing;
  /** The close waiting for queued bytes; null when none. */
  private ChannelPromise heldClose;
  private ScheduledFuture<?> holdLimit;

  private TlsHandOff(Channel channel, SslHandler tls, long holdMillis) {
    this.answered = new VoidChannelPromise(channel, false);
    this.holdMillis = holdMillis;
    tls.handshakeFuture().addListener(f -> handshaken = f.isSuccess());
  }

  /** Installs the hand-off on {@code channel} right after its TLS handler; a no-op without TLS. */
  static void install(Channel channel) {
    install(channel, CLOSE_HOLD_MILLIS);
  }

  /** As {@link #install(Channel)}, holding a close at most {@code holdMillis}. */
  static void install(Channel channel, long holdMillis) {
    ChannelPipeline pipeline = channel.pipeline();
    ChannelHandlerContext tls = pipeline.context(SslHandler.class);
    if (tls != null && pipeline.get(NAME) == null) {
      pipeline.addAfter(tls.name(), NAME, new TlsHandOff(channel, (SslHandler) tls.handler(), holdMillis));
    }
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (!handshaken || closing || promise.isVoid() || !(msg instanceof ByteBuf)) {
      ctx.write(msg, promise);
      return;
    }
    answeredAny = true;
    ctx.write(msg, answered);
    promise.trySuccess();
  }

  @Override
  public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
    if (heldClose != null) {
      heldClose.addListener(new PromiseNotifier<>(false, promise));
      return;
    }
    boolean hold = !closing && answeredAny && ctx.channel().isActive();
    closing = true;
    if (!hold) {
      ctx.close(promise);
      return;
    }
    heldClose = ctx.newPromise();
    heldClose.addListener(new PromiseNotifier<>(false, promise));
    holdLimit = ctx.executor().schedule(() -> release(ctx), holdMillis, TimeUnit.MILLISECONDS);
    ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> release(ctx));
  }

  @Override
  public void disconnect(ChannelHandlerContext ctx, ChannelPromise promise) {
    close(ctx, promise);   // TCP has no disconnect apart from close
  }

  private void release(ChannelHandlerContext ctx) {
    if (heldClose == null) {
      return;
    }
    holdLimit.cancel(false);
    ChannelPromise close = heldClose;
    heldClose = null;
    ctx.close(close);
  }
}
