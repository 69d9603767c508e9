package io.muxgate.origin;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
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
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Promises answered as bytes reach TLS, on real sockets. A server writes a body and closes once its last
 * write is answered, as Vert.x does after an HTTP/1.1 {@code Connection: close} response; its small send
 * buffer keeps most of the body queued in the process while the client reads nothing. TLS's close_notify
 * timeout is cut to 100 ms here, so a close that did not wait for the queued bytes loses them at once.
 */
class TlsHandOffTest {

  private static final int BODY_BYTES = 512 * 1024;
  private static final int CHUNK_BYTES = 16 * 1024;
  private static final long CLOSE_NOTIFY_MILLIS = 100;
  /** How long the client stays away: several close_notify timeouts, well under the hold. */
  private static final long AWAY_MILLIS = 1_000;

  private EventLoopGroup group;
  private SslContext serverTls;
  private final CompletableFuture<Channel> closeAsked = new CompletableFuture<>();

  @BeforeEach
  void setUp() throws Exception {
    group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    X509Bundle cert = new CertificateBuilder().subject("CN=localhost").addSanIpAddress("127.0.0.1")
      .ecp256().setIsCertificateAuthority(true).buildSelfSigned();
    serverTls = SslContextBuilder.forServer(cert.getKeyPair().getPrivate(), cert.getCertificatePath()).build();
  }

  @AfterEach
  void tearDown() throws InterruptedException {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
  }

  @Test
  void aCloseAfterTheLastWriteWaitsForTheBytesToReachASlowClient() throws Exception {
    int port = startServer(60_000);
    try (Socket client = slowClient(port)) {
      Channel served = closeAsked.get(10, TimeUnit.SECONDS);
      // The client reads nothing for a while: an absence, so a bounded wait rather than an event.
      assertFalse(served.closeFuture().await(AWAY_MILLIS, TimeUnit.MILLISECONDS),
        "the connection closed with its body still queued");

      assertEquals(BODY_BYTES, readToEnd(client.getInputStream()), "body bytes the client received");
      assertTrue(served.closeFuture().await(5, TimeUnit.SECONDS), "the connection closes once sent");
    }
  }

  @Test
  void aClientThatReadsNothingIsClosedAfterTheHold() throws Exception {
    int port = startServer(200);
    try (Socket client = slowClient(port)) {
      Channel served = closeAsked.get(10, TimeUnit.SECONDS);

      assertTrue(served.closeFuture().await(5, TimeUnit.SECONDS), "closed after the hold");
    }
  }

  private int startServer(long holdMillis) throws InterruptedException {
    Channel server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
      .childOption(ChannelOption.SO_SNDBUF, 4096)   // fixed: no kernel autotuning to swallow the body
      .childHandler(new ChannelInitializer<SocketChannel>() {
        @Override
        protected void initChannel(SocketChannel ch) {
          SslHandler tls = serverTls.newHandler(ch.alloc());
          tls.setCloseNotifyFlushTimeoutMillis(CLOSE_NOTIFY_MILLIS);
          ch.pipeline().addLast(tls, new WriteBodyThenClose());
          TlsHandOff.install(ch, holdMillis);
        }
      })
      .bind("127.0.0.1", 0).sync().channel();
    return ((InetSocketAddress) server.localAddress()).getPort();
  }

  /** A TLS client with a small receive buffer that reads nothing until asked. */
  private static Socket slowClient(int port) throws Exception {
    Socket tcp = new Socket();
    tcp.setReceiveBufferSize(4096);
    tcp.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
    tcp.setSoTimeout(10_000);
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(null, InsecureTrustManagerFactory.INSTANCE.getTrustManagers(), null);
    SSLSocket client = (SSLSocket) tls.getSocketFactory().createSocket(tcp, "127.0.0.1", port, true);
    client.startHandshake();
    return client;
  }

  private static long readToEnd(InputStream in) throws IOException {
    byte[] buffer = new byte[CHUNK_BYTES];
    long total = 0;
    try {
      for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
        total += n;
      }
    } catch (IOException cut) {
      // a connection closed without close_notify: what arrived before counts
    }
    return total;
  }

  /** After the handshake, writes the body and closes once the last write is answered. */
  private final class WriteBodyThenClose extends ChannelInboundHandlerAdapter {
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
      if (event instanceof SslHandshakeCompletionEvent done && done.isSuccess()) {
        for (int sent = 0; sent < BODY_BYTES; sent += CHUNK_BYTES) {
          ChannelFuture write = ctx.writeAndFlush(Unpooled.wrappedBuffer(new byte[CHUNK_BYTES]));
          if (sent + CHUNK_BYTES >= BODY_BYTES) {
            write.addListener(f -> {
              closeAsked.complete(ctx.channel());
              ctx.close();
            });
          }
        }
      }
      ctx.fireUserEventTriggered(event);
    }
  }
}
