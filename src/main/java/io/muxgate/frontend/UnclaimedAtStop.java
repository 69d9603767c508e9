package io.muxgate.frontend;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.vertx.core.net.impl.ShutdownEvent;

/**
 * Closes, as a graceful stop begins, a cleartext client connection the front end has not taken over yet:
 * one that has sent nothing (a browser's preconnect, a port check) or not a whole first request head. No
 * request of it is in flight, yet Vert.x's shutdown, which asks each connection to finish, has no
 * connection to ask before the first request is judged, and waited the whole {@code drain_timeout_s} for
 * the socket: a stop with nothing in flight took 30 s instead of a moment.
 *
 * <p>First in the pipeline from the accept on, so that it sees Vert.x's shutdown event before any handler
 * of Vert.x's does; it leaves once {@link ProxyVerticle} takes the connection over. A TLS connection still
 * in its handshake is not seen here (Vert.x shows it to nobody before): the handshake's own 10 s bound
 * ends it.
 */
@ChannelHandler.Sharable
final class UnclaimedAtStop extends ChannelInboundHandlerAdapter {

  private static final String NAME = "muxgateUnclaimedAtStop";
  private static final UnclaimedAtStop INSTANCE = new UnclaimedAtStop();

  private UnclaimedAtStop() {
  }

  /** On a channel just accepted, before a byte is read. */
  static void install(Channel channel) {
    channel.pipeline().addFirst(NAME, INSTANCE);
  }

  /** The front end has the connection: from now on Vert.x's shutdown asks it to finish. */
  static void claimed(Channel channel) {
    if (channel.pipeline().get(NAME) != null) {
      channel.pipeline().remove(NAME);
    }
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
    if (event instanceof ShutdownEvent) {
      ctx.close();
      return;
    }
    ctx.fireUserEventTriggered(event);
  }
}
