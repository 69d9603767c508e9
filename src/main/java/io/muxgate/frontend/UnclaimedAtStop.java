package io.muxgate.frontend;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.vertx.core.net.impl.ShutdownEvent;

import java.util.concurrent.TimeUnit;

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
 *
 * <p>It does not close at the stop's first moment, though: a connection accepted just before the listener
 * closed may hold its whole first request in the kernel still, unread, as it reached the proxy (and a
 * close with it unread is a reset, the request lost without a log line). It closes once the event loop
 * has had {@link #READ_GRACE_MS} to read what the kernel holds; a connection that became the front end's
 * meanwhile is then told of the stop as any other is, and serves what it read with the stop's close
 * (HTTP/1.1: {@code connection: close}; HTTP/2: GOAWAY covering the streams it opened).
 */
@ChannelHandler.Sharable
final class UnclaimedAtStop extends ChannelInboundHandlerAdapter {

  private static final String NAME = "muxgateUnclaimedAtStop";
  private static final UnclaimedAtStop INSTANCE = new UnclaimedAtStop();
  /** In place of {@link #INSTANCE} on a connection claimed before its first request ({@link #claimed}). */
  private static final UnclaimedAtStop CLAIMED = new UnclaimedAtStop();
  /**
   * How long the stop lets a connection it found unclaimed read before it closes it: the loop's next
   * read of the socket runs well within this (scheduled tasks run after the loop's I/O), yet no client
   * that sent nothing holds the stop more than a moment.
   */
  static final long READ_GRACE_MS = 100;

  private UnclaimedAtStop() {
  }

  /** On a channel just accepted, before Vert.x sets it up. */
  static void install(Channel channel) {
    channel.pipeline().addFirst(NAME, INSTANCE);
  }

  /**
   * The front end has the connection: from now on Vert.x's shutdown asks it to finish. One it has
   * before its first request was read (HTTP/1.x over TLS, taken over as its handshake ends) hears of a
   * stop only after the same grace: Vert.x's shutdown closes an HTTP/1.x connection with no request at
   * once, the first one still unread in the kernel included. No cost per read: Netty passes the handler
   * by for all but events.
   */
  static void claimed(Channel channel, boolean beforeItsFirstRequest) {
    if (channel.pipeline().get(NAME) != null) {
      if (beforeItsFirstRequest) {
        channel.pipeline().replace(NAME, NAME, CLAIMED);
      } else {
        channel.pipeline().remove(NAME);
      }
    }
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
    if (event instanceof ShutdownEvent stop) {
      Channel channel = ctx.channel();
      channel.eventLoop().schedule(() -> afterGrace(channel, stop), READ_GRACE_MS, TimeUnit.MILLISECONDS);
      return;
    }
    ctx.fireUserEventTriggered(event);
  }

  /** Closes a connection still unclaimed; one the front end took over meanwhile hears of the stop now. */
  private static void afterGrace(Channel channel, ShutdownEvent stop) {
    ChannelHandlerContext self = channel.pipeline().context(NAME);
    if (self == null) {
      channel.pipeline().fireUserEventTriggered(stop);
    } else if (self.handler() == CLAIMED) {
      self.fireUserEventTriggered(stop);
    } else {
      channel.close();
    }
  }
}
