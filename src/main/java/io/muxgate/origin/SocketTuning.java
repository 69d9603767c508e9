package io.muxgate.origin;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelOutboundBuffer;

/**
 * Socket handling under Vert.x's API: closing a socket at once ({@link #abort}), and TCP keep-alive
 * timing on origin sockets: first probe after {@link #KEEPALIVE_IDLE_SECONDS} idle, then every
 * {@link #KEEPALIVE_INTERVAL_SECONDS}, reset after {@link #KEEPALIVE_PROBES} unanswered probes, so a peer
 * that vanished without a FIN is noticed in about a minute rather than the kernel's two hours.
 *
 * <p>Vert.x 5.0 only exposes SO_KEEPALIVE on/off. The timing is set per socket with Netty's epoll
 * options, which exist only on the native transport (on NIO they would be silently ignored, which is
 * why the process logs its transport at start). The channel comes from {@link ConnectionInternals}.
 */
public final class SocketTuning {

  static final int KEEPALIVE_IDLE_SECONDS = 30;
  static final int KEEPALIVE_INTERVAL_SECONDS = 15;
  static final int KEEPALIVE_PROBES = 2;
  private static final String EPOLL_OPTION = "io.netty.channel.epoll.EpollChannelOption#";

  /*
   * Netty's EpollChannelOption constants, looked up by name: netty-transport-classes-epoll is only a
   * runtime dependency, and ChannelOption.valueOf returns the very constant EpollChannelOption registers
   * under that name, which is what the epoll channel config compares against.
   */
  static final ChannelOption<Integer> TCP_KEEPIDLE = ChannelOption.valueOf(EPOLL_OPTION + "TCP_KEEPIDLE");
  static final ChannelOption<Integer> TCP_KEEPINTVL = ChannelOption.valueOf(EPOLL_OPTION + "TCP_KEEPINTVL");
  static final ChannelOption<Integer> TCP_KEEPCNT = ChannelOption.valueOf(EPOLL_OPTION + "TCP_KEEPCNT");

  private SocketTuning() {
  }

  /**
   * Closes {@code channel} at once, below every handler of its pipeline that would flush or say goodbye
   * first: Vert.x's close waits until what it wrote is sent, forever if the peer has stopped reading.
   * If bytes are still waiting to be sent the close is a TCP reset, which drops them; a plain close would
   * leave the kernel offering them to the silent peer.
   */
  public static void abort(Channel channel) {
    channel.eventLoop().execute(() -> {
      ChannelOutboundBuffer pending = channel.unsafe().outboundBuffer();
      if (pending != null && pending.totalPendingWriteBytes() > 0) {
        channel.config().setOption(ChannelOption.SO_LINGER, 0);
      }
      ChannelHandlerContext first = channel.pipeline().firstContext();
      if (first != null) {
        first.close();
      } else {
        channel.close();
      }
    });
  }

  /**
   * Applies the keep-alive timing; returns whether the socket took it (native epoll transport and the
   * channel reachable). On NIO the options are unknown to the channel and nothing happens.
   */
  static boolean applyKeepAlive(Channel channel) {
    if (channel == null) {
      return false;
    }
    return channel.config().setOption(TCP_KEEPIDLE, KEEPALIVE_IDLE_SECONDS)
      & channel.config().setOption(TCP_KEEPINTVL, KEEPALIVE_INTERVAL_SECONDS)
      & channel.config().setOption(TCP_KEEPCNT, KEEPALIVE_PROBES);
  }
}
