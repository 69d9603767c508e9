package io.muxgate.support;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2ChannelDuplexHandler;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2SettingsFrame;
import io.netty.handler.codec.http2.Http2WindowUpdateFrame;
import io.netty.handler.ssl.SslContext;
import io.netty.util.ReferenceCountUtil;

import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One HTTP/2 connection to the proxy on Netty's frame codec, for what Vert.x's client cannot send
 * (extended CONNECT, request trailers). What it reads is queued for the test: header lists, DATA bytes,
 * {@code "end"} after END_STREAM and {@code "reset N"}. Every frame of a stream it reads, WINDOW_UPDATE
 * included, is also kept in order for {@link #framesOf}.
 */
public final class FrameClient extends Http2ChannelDuplexHandler {

  private final CompletableFuture<Void> settingsRead = new CompletableFuture<>();
  private final BlockingQueue<Object> frames = new LinkedBlockingQueue<>();
  /** "id TYPE", with " end" for END_STREAM and the error code for RST_STREAM, in the order read. */
  private final List<String> timeline = new CopyOnWriteArrayList<>();
  private volatile Http2Settings settings;
  private Channel channel;

  private FrameClient() {
  }

  /** Connects over h2c (prior knowledge) or TLS with ALPN h2 and waits for the proxy's SETTINGS. */
  public static FrameClient connect(TestScope scope, EventLoopGroup group, int port, boolean tls) throws Exception {
    FrameClient client = new FrameClient();
    SslContext trustAll = !tls ? null : TrustAllH2.clientContext();
    client.channel = new Bootstrap().group(group).channel(NioSocketChannel.class)
      .handler(new ChannelInitializer<SocketChannel>() {
        @Override
        protected void initChannel(SocketChannel channel) {
          if (trustAll != null) {
            channel.pipeline().addLast(trustAll.newHandler(channel.alloc(), "127.0.0.1", port));
          }
          channel.pipeline().addLast(Http2FrameCodecBuilder.forClient().build(), client);
        }
      })
      .connect(new InetSocketAddress("127.0.0.1", port)).sync().channel();
    scope.track(() -> client.channel.close().syncUninterruptibly());
    client.settingsRead.get(10, TimeUnit.SECONDS);
    return client;
  }

  /** The proxy's first SETTINGS. */
  public Http2Settings settings() {
    return settings;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object frame) {
    try {
      if (frame instanceof Http2SettingsFrame s && settings == null) {
        settings = s.settings();
        settingsRead.complete(null);
      } else if (frame instanceof Http2HeadersFrame h) {
        record(h.stream(), "HEADERS" + (h.isEndStream() ? " end" : ""));
        frames.add(h.headers());
        if (h.isEndStream()) {
          frames.add("end");
        }
      } else if (frame instanceof Http2DataFrame d) {
        record(d.stream(), "DATA" + (d.isEndStream() ? " end" : ""));
        frames.add(ByteBufUtil.getBytes(d.content()));
        if (d.isEndStream()) {
          frames.add("end");
        }
      } else if (frame instanceof Http2ResetFrame r) {
        record(r.stream(), "RST_STREAM " + r.errorCode());
        frames.add("reset " + r.errorCode());
      } else if (frame instanceof Http2WindowUpdateFrame w) {
        record(w.stream(), "WINDOW_UPDATE");
      }
    } finally {
      ReferenceCountUtil.release(frame);
    }
  }

  private void record(Http2FrameStream stream, String frame) {
    timeline.add(stream.id() + " " + frame);
  }

  /**
   * The frames read so far on {@code stream}, in order: "HEADERS", "DATA end", "WINDOW_UPDATE", "RST_STREAM 0"
   * (the connection's own WINDOW_UPDATEs do not reach this handler).
   */
  public List<String> framesOf(Http2FrameStream stream) {
    String prefix = stream.id() + " ";
    return timeline.stream().filter(f -> f.startsWith(prefix)).map(f -> f.substring(prefix.length())).toList();
  }

  /** Opens a stream with {@code head}. */
  public Http2FrameStream open(Http2Headers head, boolean end) {
    Http2FrameStream stream = newStream();
    channel.writeAndFlush(new DefaultHttp2HeadersFrame(head, end).stream(stream));
    return stream;
  }

  /** Sends DATA; the future completes once it is written, as far as the proxy's window lets it. */
  public ChannelFuture send(Http2FrameStream stream, byte[] bytes, boolean end) {
    return channel.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.wrappedBuffer(bytes), end).stream(stream));
  }

  /** Ends the stream with a trailing header list. */
  public void sendTrailers(Http2FrameStream stream, Http2Headers trailers) {
    channel.writeAndFlush(new DefaultHttp2HeadersFrame(trailers, true).stream(stream));
  }

  public void reset(Http2FrameStream stream, Http2Error error) {
    channel.writeAndFlush(new DefaultHttp2ResetFrame(error).stream(stream));
  }

  /** The next response head. */
  public Http2Headers head() throws InterruptedException {
    Object frame = frames.poll(10, TimeUnit.SECONDS);
    assertNotNull(frame, "no response head");
    assertTrue(frame instanceof Http2Headers, "a response head first, got " + frame);
    return (Http2Headers) frame;
  }

  /** The next DATA frame's bytes, waiting until {@code deadlineNanos} (System.nanoTime). */
  public byte[] data(long deadlineNanos) throws InterruptedException {
    Object frame = frames.poll(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
    assertNotNull(frame, "no DATA in time");
    assertTrue(frame instanceof byte[], "DATA expected, got " + frame);
    return (byte[]) frame;
  }

  /** The response body up to the stream's end. */
  public String body() throws InterruptedException {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    Object frame;
    while (!"end".equals(frame = frames.poll(10, TimeUnit.SECONDS))) {
      assertTrue(frame instanceof byte[], "DATA until the end expected, got " + frame);
      body.writeBytes((byte[]) frame);
    }
    return body.toString(StandardCharsets.UTF_8);
  }

  /** The error code of the next RST_STREAM within 10 s, skipping what comes before it; -1 if none comes. */
  public long awaitReset() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    Object frame;
    while ((frame = frames.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) != null) {
      if (frame instanceof String s && s.startsWith("reset ")) {
        return Long.parseLong(s.substring("reset ".length()));
      }
    }
    return -1;
  }

  /** Whether the stream ends (END_STREAM) within 10 s, skipping the data before it. */
  public boolean awaitEnd() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    Object frame;
    while ((frame = frames.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) != null) {
      if ("end".equals(frame)) {
        return true;
      }
    }
    return false;
  }
}
