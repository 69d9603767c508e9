package io.muxgate.origin;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.handler.ssl.SslHandler;

/**
 * Batches socket writes per event-loop turn. A proxy writes to one connection while it reads another:
 * Vert.x flushes such writes at once (it defers only writes made during a read of the same connection),
 * so every response frame relayed from an origin read cost one TLS record and one {@code send} system
 * call on the client connection — a third of the proxy's CPU under load. With Netty's flush
 * consolidation between TLS and HTTP/2, those flushes are merged and run once the loop has processed
 * the reads in hand: more frames per record and per system call, no added wait beyond the current turn.
 */
final class FlushBatching {

  /** Flushes merged at most before one is forced through, so a long read batch still streams out. */
  private static final int MAX_MERGED_FLUSHES = 64;
  private static final String NAME = "muxgate-flush-batching";

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
    FlushConsolidationHandler batching = new FlushConsolidationHandler(MAX_MERGED_FLUSHES, true);
    ChannelHandlerContext tls = pipeline.context(SslHandler.class);
    if (tls != null) {
      pipeline.addAfter(tls.name(), NAME, batching);
    } else {
      pipeline.addFirst(NAME, batching);
    }
  }
}
