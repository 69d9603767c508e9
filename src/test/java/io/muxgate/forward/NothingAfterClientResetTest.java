package io.muxgate.forward;

import io.muxgate.support.Await;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.muxgate.support.WriteUntilStalled;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http2.DefaultHttp2FrameReader;
import io.netty.handler.codec.http2.DefaultHttp2FrameWriter;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2FrameAdapter;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A response the proxy cuts (here its origin resets it mid-body) while the socket to its client is full:
 * the RST_STREAM waits behind the bytes the client has not read, with DATA of the stream still held by
 * Netty's flow control. Once the client reads again, nothing of the stream may follow its RST_STREAM
 * (RFC 9113 section 5.1). Netty kept the stream open until the reset left for the socket, and wrote the
 * held DATA behind it as the socket took more.
 */
class NothingAfterClientResetTest {

  /** Flow-control windows so large that only the socket holds the proxy's writes back. */
  private static final int WINDOW = 1 << 30;
  private static final Buffer CHUNK = Buffer.buffer(new byte[16 * 1024]);

  @RegisterExtension
  final TestScope scope = new TestScope();

  @Test
  void noDataFollowsTheResetOfAResponseCutBehindAFullSocket() throws Exception {
    Promise<Void> stalled = Promise.promise();
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(request -> {
      if (request.path().equals("/after")) {
        request.response().end("ok");
        return;
      }
      HttpServerResponse response = request.response().setChunked(true);
      response.exceptionHandler(e -> { });
      WriteUntilStalled.start(scope.vertx(), response, CHUNK, () -> !stalled.future().isComplete())
        .onSuccess(stalled::tryComplete);
      stalled.future().onSuccess(v -> response.reset());
    });
    ProxyHarness proxy = scope.startProxy("z", origin.url(), null);
    Client client = new Client();
    client.connect(proxy.httpPort());
    client.headArrived.get(10, TimeUnit.SECONDS);
    Await.result(stalled.future(), 20);
    // The proxy has reset the client's stream, behind the bytes its client has not read.
    Await.until(() -> proxy.lastRecord("/download") != null, "the proxy ends the exchange");

    client.resume();
    client.pingAcked.get(20, TimeUnit.SECONDS);

    List<String> frames = client.frames();
    int reset = frames.indexOf("RST_STREAM 1");
    assertTrue(reset >= 0, "the stream is reset: " + frames.subList(Math.max(0, frames.size() - 5), frames.size()));
    List<String> after = frames.subList(reset + 1, frames.size()).stream()
      .filter(f -> f.startsWith("DATA 1") || f.startsWith("HEADERS 1") || f.startsWith("RST_STREAM 1")).toList();
    assertEquals(List.of(), after, "frames of stream 1 after its RST_STREAM (" + reset + " frames before it)");

    client.get(3, "/after");
    // Vert.x's streams end a body with an empty DATA frame of their own.
    Await.until(() -> client.framesNow().stream().anyMatch(f -> f.startsWith("DATA 3 ") && f.endsWith(" end")),
      "the connection serves the next request");
    List<String> next = client.framesNow().subList(reset + 1, client.framesNow().size());
    assertEquals("HEADERS 3", next.get(0), next.toString());
    assertEquals(2, next.stream().filter(f -> f.startsWith("DATA 3 ")).mapToInt(f -> Integer.parseInt(f.split(" ")[2]))
      .sum(), "its whole body: " + next);
    assertTrue(next.stream().noneMatch(f -> f.startsWith("GOAWAY") || f.startsWith("RST_STREAM")), next.toString());
  }

  /**
   * An h2c client on Netty's frame reader and writer with wide-open windows: asks for /download, stops
   * reading once the response head arrives, and on {@link #resume} reads everything, then sends a PING.
   */
  private final class Client {

    final CompletableFuture<Void> headArrived = new CompletableFuture<>();
    final CompletableFuture<Void> pingAcked = new CompletableFuture<>();
    private final List<String> frames = new ArrayList<>();
    private final DefaultHttp2FrameWriter writer = new DefaultHttp2FrameWriter();
    private final ReadGate gate = new ReadGate();
    private Channel channel;
    private boolean resetSeen;

    void connect(int port) throws InterruptedException {
      channel = new Bootstrap().group(scope.nettyGroup()).channel(NioSocketChannel.class)
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel channel) {
            channel.pipeline().addLast(gate, new Reader());
          }
        })
        .connect(new InetSocketAddress("127.0.0.1", port)).sync().channel();
      scope.track(() -> channel.close().syncUninterruptibly());
      channel.eventLoop().execute(() -> {
        ChannelHandlerContext ctx = channel.pipeline().firstContext();
        channel.write(Http2CodecUtil.connectionPrefaceBuf());
        writer.writeSettings(ctx, new Http2Settings().initialWindowSize(WINDOW), channel.voidPromise());
        writer.writeWindowUpdate(ctx, 0, WINDOW - Http2CodecUtil.DEFAULT_WINDOW_SIZE, channel.voidPromise());
        Http2Headers head = new DefaultHttp2Headers().method("GET").scheme("http").authority("z.test").path("/download");
        writer.writeHeaders(ctx, 1, head, 0, true, channel.voidPromise());
        channel.flush();
      });
    }

    void resume() {
      channel.eventLoop().execute(() -> {
        gate.closed = false;
        channel.config().setAutoRead(true);
        channel.read();
      });
    }

    void get(int streamId, String path) {
      channel.eventLoop().execute(() -> {
        Http2Headers head = new DefaultHttp2Headers().method("GET").scheme("http").authority("z.test").path(path);
        writer.writeHeaders(channel.pipeline().firstContext(), streamId, head, 0, true, channel.voidPromise());
        channel.flush();
      });
    }

    List<String> framesNow() {
      try {
        return frames();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }

    List<String> frames() throws Exception {
      return channel.eventLoop().submit(() -> List.copyOf(frames)).get(5, TimeUnit.SECONDS);
    }

    private final class Reader extends ByteToMessageDecoder {

      private final DefaultHttp2FrameReader reader = new DefaultHttp2FrameReader();

      @Override
      protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        reader.readFrame(ctx, in, new Http2FrameAdapter() {
          @Override
          public void onSettingsRead(ChannelHandlerContext ctx, Http2Settings settings) {
            writer.writeSettingsAck(ctx, ctx.voidPromise());
            ctx.flush();
          }

          @Override
          public void onPingRead(ChannelHandlerContext ctx, long data) {
            writer.writePing(ctx, true, data, ctx.voidPromise());
            ctx.flush();
          }

          @Override
          public void onPingAckRead(ChannelHandlerContext ctx, long data) {
            if (data == 42) {
              pingAcked.complete(null);
            }
          }

          @Override
          public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
                                    boolean end) {
            frames.add("HEADERS " + streamId);
            if (streamId == 1 && !headArrived.isDone()) {
              // Nothing read from here on until resume(): the proxy's socket to this client fills.
              gate.closed = true;
              ctx.channel().config().setAutoRead(false);
              headArrived.complete(null);
            }
          }

          @Override
          public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int dependency,
                                    short weight, boolean exclusive, int padding, boolean end) {
            onHeadersRead(ctx, streamId, headers, padding, end);
          }

          @Override
          public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean end) {
            frames.add("DATA " + streamId + " " + data.readableBytes() + (end ? " end" : ""));
            return data.readableBytes() + padding;
          }

          @Override
          public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
            frames.add("RST_STREAM " + streamId);
            if (!resetSeen) {
              resetSeen = true;
              // Answered after everything the proxy wrote before reading it.
              writer.writePing(ctx, false, 42, ctx.voidPromise());
              ctx.flush();
            }
          }

          @Override
          public void onGoAwayRead(ChannelHandlerContext ctx, int lastStreamId, long errorCode, ByteBuf debugData) {
            frames.add("GOAWAY " + errorCode);
          }
        });
      }
    }
  }

  /** Stops the connection's reads while closed: the frame reader would otherwise ask for the next read. */
  private static final class ReadGate extends ChannelOutboundHandlerAdapter {

    volatile boolean closed;

    @Override
    public void read(ChannelHandlerContext ctx) {
      if (!closed) {
        ctx.read();
      }
    }
  }
}
