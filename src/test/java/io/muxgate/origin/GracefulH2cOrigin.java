package io.muxgate.origin;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrame;
import io.netty.util.concurrent.GlobalEventExecutor;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * An h2c origin on Netty's HTTP/2 codec that stops the way a well-behaved server does: the listening
 * socket closes first, then each connection sends GOAWAY with the last stream it accepted, finishes
 * those streams and closes. (Vert.x 5.0.10's {@code HttpServer.shutdown} was seen closing a connection
 * with streams still in flight under load, which would fail requests the origin had accepted.)
 * Answers every request with 200 "ok" after {@link #ANSWER_DELAY_MS}, so requests are in flight when
 * it stops.
 */
final class GracefulH2cOrigin implements AutoCloseable {

  static final long ANSWER_DELAY_MS = 20;

  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
  private final Channel listener;

  GracefulH2cOrigin(int port) {
    try {
      listener = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel channel) {
            connections.add(channel);
            channel.pipeline().addLast(Http2FrameCodecBuilder.forServer()
              .gracefulShutdownTimeoutMillis(TimeUnit.SECONDS.toMillis(5)).build());
            channel.pipeline().addLast(new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
              @Override
              protected void initChannel(Http2StreamChannel stream) {
                stream.pipeline().addLast(new Answer());
              }
            }));
          }
        })
        .bind(new InetSocketAddress("127.0.0.1", port)).sync().channel();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  int port() {
    return ((InetSocketAddress) listener.localAddress()).getPort();
  }

  /** Stops accepting, then GOAWAY on every connection, lets accepted streams finish, closes; waits. */
  void stopGracefully() {
    listener.close().syncUninterruptibly();
    connections.close().awaitUninterruptibly(10, TimeUnit.SECONDS);
  }

  @Override
  public void close() {
    stopGracefully();
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
  }

  private final class Answer extends SimpleChannelInboundHandler<Http2StreamFrame> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, Http2StreamFrame frame) {
      boolean requestEnded = frame instanceof Http2HeadersFrame headers ? headers.isEndStream()
        : frame instanceof Http2DataFrame data && data.isEndStream();
      if (!requestEnded) {
        return;
      }
      ctx.executor().schedule(() -> {
        ctx.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200")));
        ctx.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.copiedBuffer("ok", StandardCharsets.US_ASCII), true));
      }, ANSWER_DELAY_MS, TimeUnit.MILLISECONDS);
    }
  }
}
