package io.muxgate.origin;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;

/**
 * TCP keep-alive timing on origin sockets: first probe after {@link #KEEPALIVE_IDLE_SECONDS} idle, then
 * every {@link #KEEPALIVE_INTERVAL_SECONDS}, reset after {@link #KEEPALIVE_PROBES} unanswered probes, so
 * a peer that vanished without a FIN is noticed in about a minute rather than the kernel's two hours.
 *
 * <p>Vert.x 5.0 only exposes SO_KEEPALIVE on/off. The timing is set per socket with Netty's epoll
 * options, which exist only on the native transport (on NIO they would be silently ignored, which is
 * why the process logs its transport at start). The channel comes from {@link ConnectionInternals}.
 */
final class SocketTuning {

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
