package io.muxgate.origin;

import io.muxgate.observe.ExchangeRecord;
import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestScope;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2ConnectionHandlerBuilder;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameAdapter;
import io.netty.handler.codec.http2.Http2FrameLogger;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.logging.LogLevel;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.net.HostAndPort;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * An origin streaming a response has DATA in flight when the proxy resets the stream for a client that
 * left; RFC 9113 section 5.1 has the proxy ignore it. Netty answered each such frame with an RST_STREAM:
 * 90 downloads from a Vert.x origin cancelled at once made 8,541 of them, and with 10,000 queued unwritten
 * Netty's codec takes them for a flood and ends the connection with every other stream on it.
 */
class LateFramesAfterResetTest {

  /** Over Netty's limit of 10,000 control frames queued unwritten: enough to end the connection if answered. */
  private static final int LATE_FRAMES = 20_000;
  /** The PING payload that follows the late frames: its answer comes after the proxy's answers to them. */
  private static final long FENCE = 0x6c61746566656e63L;
  private static final int FIRST_BYTES = 1024;
  private static final int REST_BYTES = 64 * 1024;
  private static final long SECONDS = 30;

  @RegisterExtension
  final TestScope scope = new TestScope();

  @Test
  void framesInFlightWhenTheProxyResetsAStreamAreIgnoredAndTheStreamBesideItCompletes() {
    LateDataOrigin origin = new LateDataOrigin();
    int port = origin.listen();
    ProxyHarness proxy = scope.startProxy(Map.of("late.json",
      zone("late", "late.test", List.of("h2c://127.0.0.1:" + port), null)));
    HttpClientAgent client = scope.client(ClientKind.H2C, proxy);

    Future<Exchange> beside = Exchange.get(client, "late.test", "/beside");
    Await.until(() -> origin.besideStream > 0, "the stream beside reaches the origin");
    Promise<Void> firstBytes = Promise.promise();
    // The body handler is set on the request's own loop as the head arrives: set from this thread, it could
    // come after the first bytes, which a response with no handler drops.
    HttpClientRequest cancelled = Await.result(client.request(HttpMethod.GET, "/cancelled").compose(request -> {
      request.authority(HostAndPort.create("late.test", -1)).exceptionHandler(e -> { });
      request.send().onSuccess(response -> response.handler(chunk -> firstBytes.tryComplete()));
      return Future.succeededFuture(request);
    }));
    Await.result(firstBytes.future(), SECONDS);

    cancelled.reset(Http2Error.CANCEL.code());

    int resets = origin.resetsOfCancelledWhenFenced.orTimeout(SECONDS, TimeUnit.SECONDS).join();
    assertEquals(1, resets, "RST_STREAM frames for the cancelled stream: its CANCEL, none for the "
      + LATE_FRAMES + " DATA frames that crossed it");
    Exchange whole = Await.result(beside, SECONDS);
    assertEquals(200, whole.status());
    assertEquals(FIRST_BYTES + REST_BYTES, whole.body().length(), "the stream beside it arrives whole");
    assertEquals(1, origin.connections.get(), "on the connection it started on");
    Await.until(() -> proxy.lastRecord("/beside") != null, "the stream beside is logged");
    ExchangeRecord logged = proxy.lastRecord("/beside");
    assertNull(logged.error(), "the stream beside it is logged without an error");
  }

  /**
   * Answers each request with its head and {@link #FIRST_BYTES}. On the proxy's reset of /cancelled it
   * writes {@link #LATE_FRAMES} one-byte DATA frames on that stream, as if sent before the reset was read
   * (past its own codec, which knows the stream is closed), then a PING; once the PING is answered it
   * records the resets read for /cancelled and finishes /beside.
   */
  private final class LateDataOrigin {

    final AtomicInteger connections = new AtomicInteger();
    final CompletableFuture<Integer> resetsOfCancelledWhenFenced = new CompletableFuture<>();
    volatile int besideStream;
    private volatile int cancelledStream;
    private final AtomicInteger resetsOfCancelled = new AtomicInteger();

    int listen() {
      Channel listener = new ServerBootstrap().group(scope.nettyGroup()).channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel channel) {
            connections.incrementAndGet();
            Answers answers = new Answers();
            Http2ConnectionHandler codec = new Http2ConnectionHandlerBuilder().server(true)
              .frameLogger(new ResetCounter()).frameListener(answers).build();
            answers.codec = codec;
            channel.pipeline().addLast(codec);
            channel.closeFuture().addListener(closed -> resetsOfCancelledWhenFenced.complete(resetsOfCancelled.get()));
          }
        })
        .bind(new InetSocketAddress("127.0.0.1", 0)).syncUninterruptibly().channel();
      scope.track(() -> listener.close().syncUninterruptibly());
      return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    /** Counts every RST_STREAM read, those for streams the codec has closed included. */
    private final class ResetCounter extends Http2FrameLogger {

      ResetCounter() {
        super(LogLevel.TRACE);
      }

      @Override
      public void logRstStream(Direction direction, ChannelHandlerContext ctx, int streamId, long errorCode) {
        if (direction == Direction.INBOUND && streamId == cancelledStream) {
          resetsOfCancelled.incrementAndGet();
        }
      }
    }

    private final class Answers extends Http2FrameAdapter {

      Http2ConnectionHandler codec;

      @Override
      public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
                                boolean end) {
        if ("/beside".contentEquals(headers.path())) {
          besideStream = streamId;
        } else {
          cancelledStream = streamId;
        }
        codec.encoder().writeHeaders(ctx, streamId, new DefaultHttp2Headers().status("200"), 0, false, ctx.newPromise());
        codec.encoder().writeData(ctx, streamId, Unpooled.wrappedBuffer(new byte[FIRST_BYTES]), 0, false,
          ctx.newPromise());
        ctx.flush();
      }

      @Override
      public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int dependency,
                                short weight, boolean exclusive, int padding, boolean end) {
        onHeadersRead(ctx, streamId, headers, padding, end);
      }

      @Override
      public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
        if (streamId != cancelledStream) {
          return;
        }
        for (int i = 0; i < LATE_FRAMES; i++) {
          codec.encoder().frameWriter().writeData(ctx, streamId, Unpooled.wrappedBuffer(new byte[1]), 0, false,
            ctx.voidPromise());
        }
        codec.encoder().writePing(ctx, false, FENCE, ctx.newPromise());
        ctx.flush();
      }

      @Override
      public void onPingAckRead(ChannelHandlerContext ctx, long data) {
        if (data != FENCE) {
          return;
        }
        resetsOfCancelledWhenFenced.complete(resetsOfCancelled.get());
        codec.encoder().writeData(ctx, besideStream, Unpooled.wrappedBuffer(new byte[REST_BYTES]), 0, true,
          ctx.newPromise());
        ctx.flush();
      }
    }
  }
}
