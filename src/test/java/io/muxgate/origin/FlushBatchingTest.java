package io.muxgate.origin;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Flush batching on a real socket. Netty's TLS handler can hand decrypted bytes on from a queued task with
 * no read-complete event after them (a re-entered unwrap while the handshake completes); a batcher that
 * waits for read-complete before flushing then holds every later write until the peer sends again.
 */
class FlushBatchingTest {

  private EventLoopGroup group;
  private Channel server;

  @BeforeEach
  void setUp() throws InterruptedException {
    group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
      .childHandler(new ChannelInitializer<SocketChannel>() {
        @Override
        protected void initChannel(SocketChannel ch) {
          ch.pipeline().addLast(new AnswerEachMessage());
          FlushBatching.install(ch);
        }
      })
      .bind("127.0.0.1", 0).sync().channel();
  }

  @AfterEach
  void tearDown() throws InterruptedException {
    server.close().sync();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
  }

  @Test
  void aWriteAfterAReadWithoutReadCompleteStillGoesOut() throws IOException {
    try (Socket client = new Socket("127.0.0.1", ((InetSocketAddress) server.localAddress()).getPort())) {
      client.setSoTimeout(5_000);

      assertEquals("answer to queued-read", readLine(client.getInputStream()));
    }
  }

  /** On connect, delivers a message as TLS does from a queued task (no read-complete); answers each message. */
  private static final class AnswerEachMessage extends ChannelInboundHandlerAdapter {

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      ctx.executor().execute(() -> ctx.pipeline().fireChannelRead(
        Unpooled.copiedBuffer("queued-read", StandardCharsets.US_ASCII)));
      ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf in = (ByteBuf) msg;
      String text = in.toString(StandardCharsets.US_ASCII);
      in.release();
      // a write from outside this read, as a proxy relays another connection's bytes
      ctx.executor().schedule(() -> ctx.writeAndFlush(
        Unpooled.copiedBuffer("answer to " + text + "\n", StandardCharsets.US_ASCII)), 10, TimeUnit.MILLISECONDS);
    }
  }

  private static String readLine(InputStream in) throws IOException {
    StringBuilder line = new StringBuilder();
    for (int b = in.read(); b >= 0 && b != '\n'; b = in.read()) {
      line.append((char) b);
    }
    return line.toString();
  }
}
