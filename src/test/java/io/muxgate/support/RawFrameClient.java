package io.muxgate.support;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http2.DefaultHttp2FrameReader;
import io.netty.handler.codec.http2.DefaultHttp2FrameWriter;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2FrameAdapter;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.IntConsumer;

/**
 * An h2c connection on Netty's frame reader and writer alone, with no stream state: it writes frames a
 * codec would refuse, such as the DATA a real client had in flight when the proxy reset its stream. It
 * acknowledges SETTINGS and PING as it reads them, in order with what it writes meanwhile, and queues
 * what else it reads as text: {@code "HEADERS 1 200"}, {@code "DATA 1 5 end"}, {@code "RST_STREAM 1 0"},
 * {@code "GOAWAY 11 <debug data>"}.
 */
public final class RawFrameClient {

  private final BlockingQueue<String> frames = new LinkedBlockingQueue<>();
  private final DefaultHttp2FrameWriter writer = new DefaultHttp2FrameWriter();
  private volatile IntConsumer onReset = id -> { };
  private volatile IntConsumer onHeaders = id -> { };
  /** Null until a test asks: the WINDOW_UPDATEs read before then wait in {@link #earlyWindowUpdates}. Loop only. */
  private BiConsumer<Integer, Integer> onWindowUpdate;
  private final List<int[]> earlyWindowUpdates = new ArrayList<>();
  private Channel channel;
  private ChannelHandlerContext ctx;

  private RawFrameClient() {
  }

  /** Connects over h2c with prior knowledge and sends the preface and an empty SETTINGS. */
  public static RawFrameClient connect(TestScope scope, EventLoopGroup group, int port) throws InterruptedException {
    RawFrameClient client = new RawFrameClient();
    client.channel = new Bootstrap().group(group).channel(NioSocketChannel.class)
      .handler(new ChannelInitializer<SocketChannel>() {
        @Override
        protected void initChannel(SocketChannel channel) {
          channel.pipeline().addLast(client.new Reader());
        }
      })
      .connect(new InetSocketAddress("127.0.0.1", port)).sync().channel();
    scope.track(() -> client.channel.close().syncUninterruptibly());
    client.onLoop(() -> {
      client.ctx.write(Http2CodecUtil.connectionPrefaceBuf());
      client.writer.writeSettings(client.ctx, new Http2Settings(), client.ctx.voidPromise());
      client.ctx.flush();
    });
    return client;
  }

  /** Runs {@code action} on the connection's event loop, where it reads: {@link #onReset} runs there too. */
  public void onLoop(Runnable action) {
    channel.eventLoop().submit(action).syncUninterruptibly();
  }

  /** Called on the event loop with the stream id of each RST_STREAM read, before the frames after it are read. */
  public void onReset(IntConsumer action) {
    onReset = action;
  }

  /** Called on the event loop with the stream id of each HEADERS read, after it is queued. */
  public void onHeaders(IntConsumer action) {
    onHeaders = action;
  }

  /** Called on the event loop with the stream id (0: the connection) and increment of each WINDOW_UPDATE read. */
  public void onWindowUpdate(BiConsumer<Integer, Integer> action) {
    // The proxy's first WINDOW_UPDATE comes with its SETTINGS, often before the test can ask for it: given now.
    onLoop(() -> {
      onWindowUpdate = action;
      earlyWindowUpdates.forEach(update -> action.accept(update[0], update[1]));
      earlyWindowUpdates.clear();
    });
  }

  public void headers(int streamId, Http2Headers headers, boolean end) {
    onLoop(() -> {
      writeHeaders(streamId, headers, end);
      ctx.flush();
    });
  }

  /** Writes a HEADERS frame without flushing; call only on the event loop. */
  public void writeHeaders(int streamId, Http2Headers headers, boolean end) {
    writer.writeHeaders(ctx, streamId, headers, 0, end, ctx.voidPromise());
  }

  /** Writes a DATA frame without flushing; call only on the event loop. */
  public void writeData(int streamId, int bytes, boolean end) {
    writer.writeData(ctx, streamId, Unpooled.wrappedBuffer(new byte[bytes]), 0, end, ctx.voidPromise());
  }

  public void data(int streamId, int bytes, boolean end) {
    onLoop(() -> {
      writeData(streamId, bytes, end);
      ctx.flush();
    });
  }

  /** Completes when the connection closes, whichever side closed it. */
  public io.netty.channel.ChannelFuture closeFuture() {
    return channel.closeFuture();
  }

  public void flush() {
    ctx.flush();
  }

  /** The next frame read, as text, within 10 s; null if none. */
  public String next() throws InterruptedException {
    return frames.poll(10, TimeUnit.SECONDS);
  }

  private final class Reader extends ByteToMessageDecoder {

    private final DefaultHttp2FrameReader reader = new DefaultHttp2FrameReader();

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      RawFrameClient.this.ctx = ctx;
    }

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
        public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
                                  boolean end) {
          frames.add("HEADERS " + streamId + " " + headers.status());
          onHeaders.accept(streamId);
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
          frames.add("RST_STREAM " + streamId + " " + errorCode);
          onReset.accept(streamId);
        }

        @Override
        public void onWindowUpdateRead(ChannelHandlerContext ctx, int streamId, int windowSizeIncrement) {
          if (onWindowUpdate == null) {
            earlyWindowUpdates.add(new int[] {streamId, windowSizeIncrement});
          } else {
            onWindowUpdate.accept(streamId, windowSizeIncrement);
          }
        }

        @Override
        public void onGoAwayRead(ChannelHandlerContext ctx, int lastStreamId, long errorCode, ByteBuf debugData) {
          frames.add("GOAWAY " + errorCode + " " + debugData.toString(StandardCharsets.UTF_8));
        }
      });
    }
  }
}
