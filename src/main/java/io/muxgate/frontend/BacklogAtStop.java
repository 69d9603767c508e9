package io.muxgate.frontend;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.vertx.core.Future;
import io.vertx.core.Promise;

import java.util.concurrent.TimeUnit;

/**
 * Closes a listening socket, as a graceful stop begins, only once the kernel's accept queue is empty. A
 * connection whose handshake the kernel has completed waits in that queue until the proxy accepts it,
 * its client free to send its request meanwhile; closing the socket with it there has the kernel reset
 * it: the client gets ECONNRESET for a request it believes sent, and the proxy logs nothing. Vert.x's
 * shutdown closes the socket with a task on the listener's event loop, which runs before the loop next
 * polls the socket: whatever was queued then was reset.
 *
 * <p>So the stop closes each listener itself, before Vert.x's shutdown, and accepts on until a round of
 * the listener's event loop accepts nothing. What it accepted meanwhile is set up as any connection is,
 * and the shutdown that follows treats it as one accepted just before ({@link UnclaimedAtStop}). A
 * connection that arrives after the close is refused, which its client knows means nothing was sent.
 * With nothing queued the close waits one round ({@link #ROUND_MS}); with clients still arriving all the
 * while, no more than {@link #MOST_MS}.
 *
 * <p>On the listening channel, before Netty's acceptor: it counts the connections the channel accepts.
 */
final class BacklogAtStop extends ChannelInboundHandlerAdapter {

  /**
   * How long a round is. The event loop polls its sockets before it runs a task that came due, so a check
   * after a round follows a poll, which accepted what the kernel held then.
   */
  static final long ROUND_MS = 1;
  /**
   * The longest the close waits for a round that accepts nothing, should clients keep arriving: enough for
   * an event loop short of CPU to take a full queue (on a 2-core machine under a load of 15 to 20, the
   * acceptor took 200 queued connections in 150 to 220 ms); those that arrive meanwhile are served with
   * the stop's close, as the queued ones are.
   */
  static final long MOST_MS = 1000;

  /** Connections the listener has accepted; touched on its event loop only. */
  private long accepted;

  private BacklogAtStop() {
  }

  /** On a listening channel as it is set up, before it accepts. */
  static void install(Channel listener) {
    listener.pipeline().addLast(new BacklogAtStop());
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object child) {
    accepted++;
    ctx.fireChannelRead(child);
  }

  /** Stops accepting on {@code listener}, once what the kernel holds for it is accepted. */
  static Future<Void> close(Channel listener) {
    Promise<Void> closed = Promise.promise();
    BacklogAtStop self = listener.pipeline().get(BacklogAtStop.class);
    if (self == null) {
      listener.close().addListener(f -> closed.complete());
    } else {
      long latest = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(MOST_MS);
      listener.eventLoop().execute(() -> self.closeAfterQuietRound(listener, self.accepted, latest, closed));
    }
    return closed.future();
  }

  private void closeAfterQuietRound(Channel listener, long before, long latest, Promise<Void> closed) {
    listener.eventLoop().schedule(() -> {
      if (accepted != before && listener.isOpen() && System.nanoTime() - latest < 0) {
        closeAfterQuietRound(listener, accepted, latest, closed);
      } else {
        listener.close().addListener(f -> closed.complete());
      }
    }, ROUND_MS, TimeUnit.MILLISECONDS);
  }
}
