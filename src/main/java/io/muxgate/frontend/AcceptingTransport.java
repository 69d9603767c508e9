package io.muxgate.frontend;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.InternetProtocolFamily;
import io.vertx.core.datagram.DatagramSocketOptions;
import io.vertx.core.net.ClientOptionsBase;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.spi.transport.Transport;

import java.net.SocketAddress;
import java.util.concurrent.ThreadFactory;
import java.util.function.Consumer;

/**
 * Vert.x's transport, whose servers show each channel they accept to {@code accepted} before Vert.x sets
 * it up: before its TLS handler too, which shows a connection to nobody until its handshake is over. The
 * only other way in, Vert.x's traffic-shaping handler, would shape every read. Each listening channel
 * they open is shown to {@code listening} as it is set up, before it accepts. All else is the transport's own.
 */
final class AcceptingTransport implements Transport {

  private final Transport transport;
  private final Consumer<Channel> listening;
  private final Consumer<Channel> accepted;

  AcceptingTransport(Transport transport, Consumer<Channel> listening, Consumer<Channel> accepted) {
    this.transport = transport;
    this.listening = listening;
    this.accepted = accepted;
  }

  @Override
  public void configure(NetServerOptions options, boolean domainSocket, ServerBootstrap bootstrap) {
    transport.configure(options, domainSocket, bootstrap);
    // Vert.x set its own child handler, which hands each channel to a server instance, before this call.
    ChannelHandler vertxSetUp = bootstrap.config().childHandler();
    bootstrap.childHandler(new ChannelInitializer<>() {
      @Override
      protected void initChannel(Channel channel) {
        accepted.accept(channel);
        channel.pipeline().addLast(vertxSetUp);
      }
    });
    // Vert.x sets no handler of its own on the listening channel.
    bootstrap.handler(new ChannelInitializer<>() {
      @Override
      protected void initChannel(Channel listener) {
        listening.accept(listener);
      }
    });
  }

  @Override
  public boolean supportsDomainSockets() {
    return transport.supportsDomainSockets();
  }

  @Override
  public boolean supportFileRegion() {
    return transport.supportFileRegion();
  }

  @Override
  public boolean isAvailable() {
    return transport.isAvailable();
  }

  @Override
  public Throwable unavailabilityCause() {
    return transport.unavailabilityCause();
  }

  @Override
  public SocketAddress convert(io.vertx.core.net.SocketAddress address) {
    return transport.convert(address);
  }

  @Override
  public io.vertx.core.net.SocketAddress convert(SocketAddress address) {
    return transport.convert(address);
  }

  @Override
  public IoHandlerFactory ioHandlerFactory() {
    return transport.ioHandlerFactory();
  }

  @Override
  public EventLoopGroup eventLoopGroup(int type, int nThreads, ThreadFactory threadFactory, int ioRatio) {
    return transport.eventLoopGroup(type, nThreads, threadFactory, ioRatio);
  }

  @Override
  public DatagramChannel datagramChannel() {
    return transport.datagramChannel();
  }

  @Override
  public DatagramChannel datagramChannel(InternetProtocolFamily family) {
    return transport.datagramChannel(family);
  }

  @Override
  public ChannelFactory<? extends Channel> channelFactory(boolean domainSocket) {
    return transport.channelFactory(domainSocket);
  }

  @Override
  public ChannelFactory<? extends ServerChannel> serverChannelFactory(boolean domainSocket) {
    return transport.serverChannelFactory(domainSocket);
  }

  @Override
  public void configure(DatagramChannel channel, DatagramSocketOptions options) {
    transport.configure(channel, options);
  }

  @Override
  public void configure(ClientOptionsBase options, int connectTimeout, boolean domainSocket, Bootstrap bootstrap) {
    transport.configure(options, connectTimeout, domainSocket, bootstrap);
  }
}
