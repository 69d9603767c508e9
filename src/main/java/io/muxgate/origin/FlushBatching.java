package io.muxgate.origin;

import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.handler.ssl.SslHandler;

/**
 * Batches socket writes per event-loop turn. A proxy writes to one connection while it reads another:
 * Vert.x flushes such writes at once (it defers only writes made during a read of the same connection),
 * so every response frame relayed from an origin read cost one TLS record and one {@code send} system
 * call on the client connection — a third of the proxy's CPU under load. Here a flush only marks the
 * connection and queues one task on its event loop, which the loop runs once it has processed the reads
 * in hand: more frames per record and per system call, no added wait beyond the current turn.
 *
 * <p>Not Netty's {@code FlushConsolidationHandler}: that one holds flushes while it believes a read is in
 * progress, from a {@code channelRead} until the next {@code channelReadComplete}. Netty's
 * {@link SslHandler} can deliver decrypted bytes from a queued task (when its unwrap is re-entered while
 * the handshake completes) with no {@code channelReadComplete} after them; every later flush on that
 * connection then waited for the peer's next bytes. A streamed response whose client sent nothing more
 * stalled after its head (seen about once in 500 fresh TLS connections under load).
 *
 * <p>Nor does a full outbound buffer flush at once: Netty reports the channel unwritable from inside the
 * write that filled it, and a flush there, on a cleartext connection, drains the socket and makes the
 * channel writable again within that same write. Writers waiting for that (Vert.x's streams and
 * Muxgate's) then wrote more DATA while Netty's HTTP/2 flow controller was still writing a frame, which
 * it does not survive: large gRPC uploads to h2c origins closed their connection (520 origin_closed;
 * with -ea an assertion in its byte distributor) or wedged it. The flush waits for the loop's turn like
 * any other.
 */
final class FlushBatching extends ChannelDuplexHandler {

  /** Flushes merged at most before one is forced through, so a long read batch still streams out. */
  private static final int MAX_MERGED_FLUSHES = 64;
  private static final String NAME = "muxgate-flush-batching";

  private final Runnable flushTask = () -> {
    scheduled = false;
    flushIfPending();
  };
  private ChannelHandlerContext ctx;
  private int pendingFlushes;
  private boolean scheduled;

  private FlushBatching() {
  }

  /** Installs batching on {@code channel}, between TLS (if any) and the protocol handlers. */
  static void install(Channel channel) {
    if (channel == null) {
      return;
    }
    ChannelPipeline pipeline = channel.pipeline();
    if (pipeline.get(NAME) != null) {
      return;
    }
    ChannelHandlerContext tls = pipeline.context(SslHandler.class);
    if (tls != null) {
      pipeline.addAfter(tls.name(), NAME, new FlushBatching());
    } else {
      pipeline.addFirst(NAME, new FlushBatching());
    }
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void flush(ChannelHandlerContext ctx) {
    if (++pendingFlushes >= MAX_MERGED_FLUSHES) {
      flushNow();
    } else if (!scheduled) {
      scheduled = true;
      ctx.executor().execute(flushTask);
    }
  }

  private void flushIfPending() {
    if (pendingFlushes > 0) {
      flushNow();
    }
  }

  private void flushNow() {
    pendingFlushes = 0;
    ctx.flush();
  }

  @Override
  public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
    flushIfPending();
    ctx.close(promise);
  }

  @Override
  public void disconnect(ChannelHandlerContext ctx, ChannelPromise promise) {
    flushIfPending();
    ctx.disconnect(promise);
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    flushIfPending();
  }
}
