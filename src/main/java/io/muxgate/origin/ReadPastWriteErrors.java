package io.muxgate.origin;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2ConnectionHandler;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * Reads what an HTTP/2 origin sent before it closed, when a write finds it closed. An origin that shuts
 * down gracefully sends GOAWAY, answers the streams it accepted and closes; requests the proxy sends
 * before it has read that GOAWAY meet a closed socket, and the write fails (broken pipe, reset). Netty
 * then closes the channel at once, dropping the GOAWAY and any answers still unread, and Vert.x fails
 * every stream with the write's error: requests the origin never saw, above the GOAWAY's last-stream-id,
 * would pass for ones it may have processed, each repeated at most once (during a restart, into the
 * next connection's close) or, if not idempotent, answered 520. Here the socket stays open for reading
 * after such a write: the GOAWAY and answers are read, and the origin's close ends the connection.
 *
 * <p>For connections whose streams go through Vert.x's client; frame streams handle their own errors
 * ({@link OwnStreams}).
 */
final class ReadPastWriteErrors extends ForwardingLifecycleManager {

  /** How long the socket is read after a failed write before it is closed anyway (a peer that never ends). */
  static final long READ_BOUND_MILLIS = 1_000;

  private final Runnable stopUsing;
  private boolean reading;

  private ReadPastWriteErrors(Http2ConnectionHandler codec, Runnable stopUsing) {
    super(codec);
    this.stopUsing = stopUsing;
  }

  /**
   * Installs it on {@code channel}'s HTTP/2 codec, if there is one; {@code stopUsing} runs when a write
   * fails, so that no stream is given to the connection while it is read to its end.
   */
  static void install(Channel channel, Runnable stopUsing) {
    Http2ConnectionHandler handler = ConnectionInternals.http2CodecOf(channel);
    if (handler == null) {
      return;
    }
    // Without this a failed write closes the socket before the codec hears of it.
    channel.config().setAutoClose(false);
    handler.encoder().lifecycleManager(new ReadPastWriteErrors(handler, stopUsing));
  }

  @Override
  public void onError(ChannelHandlerContext ctx, boolean outbound, Throwable cause) {
    if (!outbound || !(cause instanceof IOException) || Http2CodecUtil.getEmbeddedHttp2Exception(cause) != null
      || !ctx.channel().isOpen()) {
      codec.onError(ctx, outbound, cause);
      return;
    }
    if (!reading) {
      reading = true;
      stopUsing.run();
      Channel channel = ctx.channel();
      channel.read();
      // Below the codec, whose close would wait for the streams it still counts as open.
      ctx.executor().schedule(() -> SocketTuning.abort(channel), READ_BOUND_MILLIS, TimeUnit.MILLISECONDS);
    }
  }
}
