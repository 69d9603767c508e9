package io.muxgate.origin;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;

/**
 * A handler first in a connection's pipeline that knows whether the connection is delivering a read right
 * now: a close made then comes from the codec or Vert.x giving up on the peer's bytes, not from the peer.
 * Both sides' frame streams build their guard on it ({@link GoAwayOnClose} asks it).
 */
public abstract class ReadTracking extends ChannelDuplexHandler {

  private boolean reading;

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
    reading = true;
    try {
      ctx.fireChannelRead(msg);
    } finally {
      reading = false;
    }
  }

  /** Whether the pipeline is inside a read of this connection's bytes. */
  public final boolean reading() {
    return reading;
  }
}
