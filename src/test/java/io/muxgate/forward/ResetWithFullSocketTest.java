package io.muxgate.forward;

import io.muxgate.support.Await;
import io.muxgate.support.CapturedLog;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.muxgate.support.TrustAllH2;
import io.muxgate.support.WriteUntilStalled;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2WindowUpdateFrame;
import io.netty.handler.codec.http2.Http2ChannelDuplexHandler;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.ssl.SslContext;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.net.HostAndPort;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A peer that resets its TCP connection while the proxy still holds bytes for it that the socket has
 * not taken — a client gone mid-download, an origin gone mid-upload. Those writes fail inside the
 * close, before the connection is seen closed, and the HTTP/2 codec reports each as a connection error.
 * The other side hears of it (a 520, a reset origin stream), nothing on the way throws or logs a
 * warning, and the next request is served.
 */
class ResetWithFullSocketTest {

  /** Flow-control windows so large that only the socket holds the proxy's writes back. */
  private static final int WINDOW = 1 << 30;
  private static final Buffer CHUNK = Buffer.buffer(new byte[64 * 1024]);

  @RegisterExtension
  final TestScope scope = new TestScope();
  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private CapturedLog warnings;
  /** Whether {@link WriteUntilStalled} goes on writing (it runs on the writer's event loop). */
  private volatile boolean pumping = true;

  @BeforeEach
  void start() {
    scope.track(() -> group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly());
    warnings = scope.track(CapturedLog.warningsUnder("io.netty", "io.vertx"));
  }

  @Test
  void originResetMidUploadGives520() throws Exception {
    CompletableFuture<Channel> uploadArrived = new CompletableFuture<>();
    ProxyHarness proxy = scope.startProxy("z", "h2c://127.0.0.1:" + stallingOrigin(uploadArrived), null);
    HttpClientAgent client = scope.client(ClientKind.H2C, proxy);
    Promise<Void> stalled = Promise.promise();
    Promise<HttpClientResponse> answered = Promise.promise();
    client.request(HttpMethod.POST, "/upload").onComplete(created -> {
      if (created.failed()) {
        stalled.tryFail(created.cause());
        return;
      }
      HttpClientRequest upload = created.result().authority(HostAndPort.create("z.test", -1)).setChunked(true);
      // The proxy reads and drops the rest of a body after answering. This one has no end: the client
      // stops writing once answered, and its stream is still open when it closes at teardown.
      upload.exceptionHandler(e -> { });
      upload.response().onComplete(answer -> {
        pumping = false;
        answered.handle(answer);
      });
      upload.sendHead().onSuccess(v -> WriteUntilStalled.start(scope.vertx(), upload, CHUNK, () -> pumping)
        .onSuccess(stalled::tryComplete)).onFailure(stalled::tryFail);
    });
    Await.result(stalled.future(), 20);

    resetConnection(uploadArrived.get(5, TimeUnit.SECONDS));

    assertEquals(520, Await.result(answered.future(), 10).statusCode());
    assertEquals(200, Await.result(Exchange.get(client, "z.test", "/after")).status(),
      "a new origin connection serves the next request");
    assertEquals(List.of(), warnings.lines());
  }

  @ParameterizedTest(name = "tls {0}")
  @ValueSource(booleans = {false, true})
  void clientResetMidDownloadResetsTheOriginStream(boolean tls) throws Exception {
    Promise<Void> stalled = Promise.promise();
    Promise<String> originOutcome = Promise.promise();
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(request -> {
      if (!request.path().equals("/download")) {
        request.response().end("ok");
        return;
      }
      HttpServerResponse response = request.response().setChunked(true);
      response.exceptionHandler(e -> originOutcome.tryComplete("aborted: " + e));
      response.closeHandler(v -> originOutcome.tryComplete("aborted: closed"));
      response.endHandler(v -> originOutcome.tryComplete("ended"));
      WriteUntilStalled.start(scope.vertx(), response, CHUNK, () -> pumping).onSuccess(stalled::tryComplete);
    });
    ProxyHarness proxy = scope.startProxy("z", origin.url(), null);
    Channel client = stalledClient(tls ? proxy.httpsPort() : proxy.httpPort(), tls, "z.test", "/download");
    Await.result(stalled.future(), 20);

    resetConnection(client);

    String outcome = Await.result(originOutcome.future(), 10);
    assertTrue(outcome.startsWith("aborted"), outcome);
    HttpClientAgent next = scope.client(ClientKind.H2C, proxy);
    assertEquals(200, Await.result(Exchange.get(next, "z.test", "/after")).status());
    assertEquals(List.of(), warnings.lines());
  }

  /** Closes with SO_LINGER 0: the kernel drops what it holds and sends RST. */
  private static void resetConnection(Channel channel) {
    channel.eventLoop().execute(() -> {
      channel.config().setOption(ChannelOption.SO_LINGER, 0);
      channel.close();
    });
  }

  /**
   * An h2c origin that opens its windows wide, stops reading once a POST arrives (so its socket fills
   * and the proxy's writes queue behind it) and answers anything else with 200.
   */
  private int stallingOrigin(CompletableFuture<Channel> uploadArrived) throws InterruptedException {
    Channel listener = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
      .childHandler(new ChannelInitializer<SocketChannel>() {
        @Override
        protected void initChannel(SocketChannel channel) {
          channel.pipeline().addLast(new ReadGate(), wideOpenCodec(Http2FrameCodecBuilder.forServer()),
            new Http2ChannelDuplexHandler() {
            @Override
            public void channelActive(ChannelHandlerContext ctx) {
              ctx.writeAndFlush(new DefaultHttp2WindowUpdateFrame(WINDOW));
              ctx.fireChannelActive();
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object frame) {
              ReferenceCountUtil.release(frame);
              if (!(frame instanceof Http2HeadersFrame headers)) {
                return;
              }
              if ("POST".contentEquals(headers.headers().method())) {
                ctx.pipeline().get(ReadGate.class).close(ctx.channel());
                uploadArrived.complete(ctx.channel());
                return;
              }
              ctx.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200")).stream(headers.stream()));
              ctx.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.copiedBuffer("ok", StandardCharsets.US_ASCII), true)
                .stream(headers.stream()));
            }
          });
        }
      })
      .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
    scope.track(() -> listener.close().syncUninterruptibly());
    return ((InetSocketAddress) listener.localAddress()).getPort();
  }

  /**
   * An h2c client with wide-open windows that asks for {@code path} and stops reading once the
   * response head arrives, so the proxy's socket to it fills.
   */
  private Channel stalledClient(int port, boolean tls, String authority, String path) throws Exception {
    CompletableFuture<Void> headArrived = new CompletableFuture<>();
    SslContext trustAll = !tls ? null : TrustAllH2.clientContext();
    Channel channel = new Bootstrap().group(group).channel(NioSocketChannel.class)
      .handler(new ChannelInitializer<SocketChannel>() {
        @Override
        protected void initChannel(SocketChannel channel) {
          channel.pipeline().addLast(new ReadGate());
          if (trustAll != null) {
            channel.pipeline().addLast(trustAll.newHandler(channel.alloc(), "127.0.0.1", port));
          }
          channel.pipeline().addLast(wideOpenCodec(Http2FrameCodecBuilder.forClient()),
            new Http2ChannelDuplexHandler() {
            @Override
            public void channelActive(ChannelHandlerContext ctx) {
              ctx.write(new DefaultHttp2WindowUpdateFrame(WINDOW));
              ctx.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().method("GET")
                .scheme(tls ? "https" : "http")
                .authority(authority).path(path), true).stream(newStream()));
              ctx.fireChannelActive();
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object frame) {
              ReferenceCountUtil.release(frame);
              if (frame instanceof Http2HeadersFrame) {
                ctx.pipeline().get(ReadGate.class).close(ctx.channel());
                headArrived.complete(null);
              }
            }
          });
        }
      })
      .connect(new InetSocketAddress("127.0.0.1", port)).sync().channel();
    scope.track(() -> channel.close().syncUninterruptibly());
    headArrived.get(10, TimeUnit.SECONDS);
    return channel;
  }

  /**
   * Stops a connection's reads for good once closed. Turning auto-read off alone is not enough under an
   * HTTP/2 codec: its decoder hands frames to a listener, not down the pipeline, and so asks for the
   * next read itself.
   */
  private static final class ReadGate extends ChannelOutboundHandlerAdapter {

    private boolean closed;

    void close(Channel channel) {
      closed = true;
      channel.config().setAutoRead(false);
    }

    @Override
    public void read(ChannelHandlerContext ctx) {
      if (!closed) {
        ctx.read();
      }
    }
  }

  private static Http2FrameCodec wideOpenCodec(Http2FrameCodecBuilder builder) {
    return builder.initialSettings(Http2Settings.defaultSettings().initialWindowSize(WINDOW)).build();
  }
}
