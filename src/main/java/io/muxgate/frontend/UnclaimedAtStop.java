package io.muxgate.frontend;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.vertx.core.net.impl.ShutdownEvent;

/**
 * Closes, as a graceful stop begins, a client connection the front end has not taken over yet: one that
 * has sent nothing (a browser's preconnect, a port check), not a whole first request head, or, over TLS,
 * not its whole handshake, as nginx and HAProxy close them. No request of it is in flight, yet Vert.x's
 * shutdown, which asks each connection to finish, has no connection to ask before the first request is
 * judged (or the handshake is over), and waited the whole {@code drain_timeout_s} for the socket: a stop
 * with nothing in flight took 30 s instead of a moment. Over TLS, a handshake that ended after the stop
 * began was never asked at all, and held the stop that long too.
 *
 * <p>First in the pipeline from the accept on, before Vert.x's TLS handler ({@link AcceptingTransport}),
 * so that it sees Vert.x's shutdown event before any handler of Vert.x's does; it leaves once
 * {@link ProxyVerticle} takes the connection over.
 */
@ChannelHandler.Sharable
final class UnclaimedAtStop extends ChannelInboundHandlerAdapter {

  private static final String NAME = "muxgateUnclaimedAtStop";
  private static final UnclaimedAtStop INSTANCE = new UnclaimedAtStop();

  private UnclaimedAtStop() {
  }

  /** On a channel just accepted, before Vert.x sets it up. */
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
