package io.muxgate.forward;

import io.muxgate.support.FrameClient;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestScope;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2ChannelDuplexHandler;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2StreamFrame;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Trailers that end an HTTP/2 client's request body (gRPC clients may send them) reach an HTTP/2 origin
 * as trailers, on the streams Muxgate runs itself on both sides.
 */
class RequestTrailersTest {

  private static final boolean OWN_STREAMS = !"false".equalsIgnoreCase(System.getProperty("muxgate.front_streams"))
    && !"false".equalsIgnoreCase(System.getProperty("muxgate.frame_streams"));

  @RegisterExtension
  final TestScope scope = new TestScope();
  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());

  @BeforeEach
  void start() {
    scope.track(() -> group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly());
  }

  @ParameterizedTest(name = "tls {0}")
  @ValueSource(booleans = {false, true})
  void requestTrailersReachTheOrigin(boolean tls) throws Exception {
    assumeTrue(OWN_STREAMS, "trailers are carried by Muxgate's own HTTP/2 streams only");
    ProxyHarness proxy = scope.startProxy("z", "h2c://127.0.0.1:" + echoingOrigin(), null);
    FrameClient client = FrameClient.connect(scope, group, tls ? proxy.httpsPort() : proxy.httpPort(), tls);

    Http2FrameStream stream = client.open(new DefaultHttp2Headers().method("POST").scheme(tls ? "https" : "http")
      .authority("z.test").path("/upload").add("te", "trailers"), false);
    client.send(stream, "payload".getBytes(StandardCharsets.US_ASCII), false);
    client.sendTrailers(stream, new DefaultHttp2Headers().add("x-checksum", "abc123").add("x-count", "7"));

    assertEquals("200", client.head().status().toString());
    assertEquals("body=payload trailers={x-checksum=abc123, x-count=7}", client.body());
  }

  @ParameterizedTest(name = "tls {0}")
  @ValueSource(booleans = {false, true})
  void aRequestWithoutTrailersEndsAsBefore(boolean tls) throws Exception {
    assumeTrue(OWN_STREAMS, "trailers are carried by Muxgate's own HTTP/2 streams only");
    ProxyHarness proxy = scope.startProxy("z", "h2c://127.0.0.1:" + echoingOrigin(), null);
    FrameClient client = FrameClient.connect(scope, group, tls ? proxy.httpsPort() : proxy.httpPort(), tls);

    Http2FrameStream stream = client.open(new DefaultHttp2Headers().method("POST").scheme(tls ? "https" : "http")
      .authority("z.test").path("/upload"), false);
    client.send(stream, "payload".getBytes(StandardCharsets.US_ASCII), true);

    assertEquals("200", client.head().status().toString());
    assertEquals("body=payload trailers={}", client.body());
  }

  /** An h2c origin that answers each request, once ended, with its body and the trailers that ended it. */
  private int echoingOrigin() throws InterruptedException {
    Channel listener = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
      .childHandler(new ChannelInitializer<SocketChannel>() {
        @Override
        protected void initChannel(SocketChannel channel) {
          channel.pipeline().addLast(Http2FrameCodecBuilder.forServer().build(), new Http2ChannelDuplexHandler() {
            private final Map<Http2FrameStream, StringBuilder> bodies = new HashMap<>();
            private final Map<Http2FrameStream, Boolean> headed = new HashMap<>();

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object frame) {
              try {
                if (!(frame instanceof Http2StreamFrame streamFrame)) {
                  return;
                }
                Http2FrameStream stream = streamFrame.stream();
                StringBuilder body = bodies.computeIfAbsent(stream, s -> new StringBuilder());
                Map<String, String> trailers = new TreeMap<>();
                boolean end = false;
                if (frame instanceof Http2HeadersFrame h) {
                  if (headed.put(stream, true) != null) {
                    h.headers().forEach(e -> trailers.put(e.getKey().toString(), e.getValue().toString()));
                  }
                  end = h.isEndStream();
                } else if (frame instanceof Http2DataFrame d) {
                  body.append(d.content().toString(StandardCharsets.US_ASCII));
                  end = d.isEndStream();
                }
                if (end) {
                  Http2Headers head = new DefaultHttp2Headers().status("200");
                  ctx.write(new DefaultHttp2HeadersFrame(head).stream(stream));
                  ctx.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.copiedBuffer("body=" + body + " trailers="
                    + trailers, StandardCharsets.US_ASCII), true).stream(stream));
                }
              } finally {
                ReferenceCountUtil.release(frame);
              }
            }
          });
        }
      })
      .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
    scope.track(() -> listener.close().syncUninterruptibly());
    return ((InetSocketAddress) listener.localAddress()).getPort();
  }
}
