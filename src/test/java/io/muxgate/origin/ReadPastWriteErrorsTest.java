package io.muxgate.origin;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2ConnectionHandlerBuilder;
import io.netty.handler.codec.http2.Http2FrameAdapter;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2SettingsFrame;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An origin that closes gracefully (GOAWAY, then close) while the proxy has not read its GOAWAY yet: the
 * proxy's next requests meet a closed socket. The GOAWAY must still be read, so that those requests count
 * as never processed. The client holds its reads (no auto-read) to stand for a proxy whose loop is busy.
 */
class ReadPastWriteErrorsTest {

  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());

  @AfterEach
  void tearDown() {
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
  }

  @Test
  void goAwayUnreadWhenAWriteFailsIsStillRead() {
    CompletableFuture<Void> originClosed = new CompletableFuture<>();
    Channel listener = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
      .childHandler(new ChannelInitializer<SocketChannel>() {
        @Override
        protected void initChannel(SocketChannel channel) {
          channel.closeFuture().addListener(f -> originClosed.complete(null));
          channel.pipeline().addLast(Http2FrameCodecBuilder.forServer().build());
          channel.pipeline().addLast(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
              if (msg instanceof Http2SettingsFrame) {
                ctx.close(); // GOAWAY with nothing accepted, then close: a restart
              }
            }
          });
        }
      })
      .bind(new InetSocketAddress("127.0.0.1", 0)).syncUninterruptibly().channel();

    Http2ConnectionHandler codec = new Http2ConnectionHandlerBuilder().server(false)
      .frameListener(new Http2FrameAdapter()).build();
    AtomicInteger stopped = new AtomicInteger();
    Channel client = new Bootstrap().group(group).channel(NioSocketChannel.class)
      .option(ChannelOption.AUTO_READ, false)
      .handler(new ChannelInitializer<SocketChannel>() {
        @Override
        protected void initChannel(SocketChannel channel) {
          channel.pipeline().addLast(codec);
        }
      })
      .connect(listener.localAddress()).syncUninterruptibly().channel();
    client.eventLoop().submit(() -> ReadPastWriteErrors.install(client, stopped::incrementAndGet)).syncUninterruptibly();
    originClosed.join();
    listener.close().syncUninterruptibly();

    // Requests sent into the closed socket: the first is taken by the kernel (the origin's kernel answers it with
    // a reset), a later one fails.
    boolean failed = false;
    for (int stream = 1; stream < 200 && !failed; stream += 2) {
      int id = stream;
      ChannelFuture written = client.eventLoop().submit(() -> {
        ChannelFuture f = codec.encoder().writeHeaders(client.pipeline().context(codec), id,
          new DefaultHttp2Headers().method("GET").path("/").scheme("http").authority("z.test"), 0, true,
          client.newPromise());
        client.flush();
        return f;
      }).syncUninterruptibly().getNow();
      failed = !written.awaitUninterruptibly().isSuccess();
    }
    assertTrue(failed, "a request written after the origin closed failed");

    client.closeFuture().awaitUninterruptibly(5, TimeUnit.SECONDS);
    Http2Connection connection = codec.connection();
    assertTrue(connection.goAwayReceived(), "the origin's GOAWAY was read before the connection closed");
    assertEquals(0, connection.local().lastStreamKnownByPeer());
    assertEquals(1, stopped.get());
    assertFalse(client.isOpen(), "closed once read to its end");
  }
}
