package io.muxgate.origin;

import io.netty.channel.Channel;
import io.netty.channel.ChannelPipeline;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.net.impl.ConnectionBase;

/**
 * The outbound side of every connection Muxgate relays on, client or origin, as set up when it opens:
 * writes batched per event-loop turn ({@link FlushBatching}), their promises answered as they reach TLS
 * ({@link TlsHandOff}), and Vert.x's chunked writer taken out.
 * Vert.x puts Netty's {@code ChunkedWriteHandler} on every TLS connection for {@code sendFile}, which
 * Muxgate never calls; every frame and response written otherwise passes through it on its way to TLS.
 * (Vert.x itself removes it when a connection becomes a raw socket, so its absence is a state it knows.)
 */
public final class RelayPipeline {

  private static final String CHUNKED_WRITER = "chunkedWriter";

  private RelayPipeline() {
  }

  /** Sets up a Vert.x server connection (both protocols); a no-op if its channel is hidden. */
  public static void install(HttpConnection connection) {
    if (connection instanceof ConnectionBase base) {
      install(base.channel());
    }
  }

  /** Sets up {@code channel}'s pipeline; call on its event loop, before it carries requests. */
  public static void install(Channel channel) {
    if (channel == null) {
      return;
    }
    ChannelPipeline pipeline = channel.pipeline();
    if (pipeline.get(CHUNKED_WRITER) != null) {
      pipeline.remove(CHUNKED_WRITER);
    }
    FlushBatching.install(channel);
    TlsHandOff.install(channel);
  }
}
