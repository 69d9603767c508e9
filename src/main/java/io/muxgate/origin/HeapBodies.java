package io.muxgate.origin;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpContent;
import io.vertx.core.impl.buffer.VertxByteBufAllocator;

/**
 * Hands Vert.x the body parts of an HTTP/1.x connection as heap copies, not as slices of the pooled
 * buffer Netty read them into. Vert.x holds the messages of a paused connection in a queue, and a
 * connection that closes while paused (its request reset after a client went away, or its peer gone)
 * drops that queue without releasing what is in it: a slice there keeps its whole pooled chunk. An
 * HTTP/1.1 origin cut mid-body leaked up to the body's size each time; an HTTP/1.1 client that went away
 * mid-upload, what its connection held. Installed on both. Vert.x copies every body part
 * to the heap anyway before handing it on; the copy is made here instead, so it costs nothing more.
 */
@ChannelHandler.Sharable
public final class HeapBodies extends ChannelInboundHandlerAdapter {

  private static final HeapBodies INSTANCE = new HeapBodies();

  private HeapBodies() {
  }

  /** Installs the copy just before the handler named {@code vertx} of {@code channel}, if both exist. */
  public static void install(Channel channel, String vertx) {
    if (channel != null && channel.pipeline().get(vertx) != null) {
      channel.pipeline().addBefore(vertx, "muxgateHeapBodies", INSTANCE);
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof HttpContent part && part.content().isReadable()) {
      ByteBuf pooled = part.content();
      ByteBuf copy = VertxByteBufAllocator.DEFAULT.heapBuffer(pooled.readableBytes()).writeBytes(pooled);
      HttpContent replaced = part.replace(copy);
      part.release();
      ctx.fireChannelRead(replaced);
    } else {
      ctx.fireChannelRead(msg);
    }
  }
}
