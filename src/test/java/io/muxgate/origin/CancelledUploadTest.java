package io.muxgate.origin;

import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestScope;
import io.muxgate.support.WriteUntilStalled;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2ConnectionHandlerBuilder;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameAdapter;
import io.netty.handler.codec.http2.Http2FrameLogger;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.logging.LogLevel;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.net.HostAndPort;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * An upload the proxy cancels toward its origin while the origin reads slowly: the stream has used its
 * window, Netty's flow controller holds the rest of what the client sent, and the socket is full of the
 * connection's other streams, so that the RST_STREAM waits in the proxy's outbound buffer. The origin
 * grants window again meanwhile. None of the stream's DATA may follow its reset (RFC 9113, section 5.1: a
 * closed stream sends nothing more); Netty wrote the held DATA behind the reset once the socket took more.
 */
class CancelledUploadTest {

  /** The window of the filling stream and of the connection: only the socket holds those writes back. */
  private static final int WINDOW = 1 << 30;
  private static final Buffer CHUNK = Buffer.buffer(new byte[64 * 1024]);
  /** The PING payload the origin sends once it has read the reset: its answer follows what came before. */
  private static final long FENCE = 0x72737466656e6365L;
  private static final long SECONDS = 30;

  @RegisterExtension
  final TestScope scope = new TestScope();
  /** Whether {@link WriteUntilStalled} goes on writing (it runs on the client's event loop). */
  private volatile boolean pumping = true;

  @Test
  void noDataFollowsTheResetOfAnUploadCancelledWhileItsOriginReadsSlowly() {
    StallingOrigin origin = new StallingOrigin();
    ProxyHarness proxy = scope.startProxy("up", "h2c://127.0.0.1:" + origin.listen(), null);
    HttpClientAgent client = scope.client(ClientKind.H2C, proxy);
    HttpClientRequest upload = upload(client, "/upload");
    Await.until(() -> origin.uploadBytes == Http2CodecUtil.DEFAULT_WINDOW_SIZE, "the upload's window used");
    upload(client, "/filler");
    origin.returnUploadWindow();

    pumping = false;
    upload.reset(Http2Error.CANCEL.code());
    Await.until(() -> proxy.lastRecord("/upload") != null, "the cancelled upload is logged");
    origin.readAgain();

    Fenced fenced = origin.fenced.orTimeout(SECONDS, TimeUnit.SECONDS).join();
    assertEquals(1, fenced.resets(), "RST_STREAM frames of the cancelled upload");
    assertEquals(0, fenced.dataAfterReset(), "DATA frames of the cancelled upload after its RST_STREAM ("
      + fenced.dataBeforeReset() + " before it)");
    assertEquals(200, Await.result(Exchange.get(client, "up.test", "/after")).status());
    assertEquals(1, origin.connections.get(), "all on one connection, which carries on");
  }

  /** Starts an upload to {@code path} and returns it once it has stalled: the proxy takes no more of it. */
  private HttpClientRequest upload(HttpClientAgent client, String path) {
    Promise<Void> stalled = Promise.promise();
    HttpClientRequest upload = Await.result(client.request(HttpMethod.POST, path));
    upload.authority(HostAndPort.create("up.test", -1)).setChunked(true).exceptionHandler(e -> { });
    upload.sendHead().onSuccess(v -> WriteUntilStalled.start(scope.vertx(), upload, CHUNK, () -> pumping)
      .onSuccess(stalled::tryComplete)).onFailure(stalled::tryFail);
    Await.result(stalled.future(), SECONDS);
    return upload;
  }

  private record Fenced(int resets, int dataBeforeReset, int dataAfterReset) {
  }

  /**
   * An h2c origin. It keeps the window of /upload's stream ({@link #returnUploadWindow} gives it back),
   * opens those of /filler's stream and of the connection wide and stops reading its socket once /filler
   * arrives, until {@link #readAgain}. It counts /upload's frames as they come off the wire (those its codec
   * drops included) and completes {@link #fenced} once the PING it sends on reading /upload's reset is
   * answered. Anything else gets 200.
   */
  private final class StallingOrigin {

    final AtomicInteger connections = new AtomicInteger();
    final CompletableFuture<Fenced> fenced = new CompletableFuture<>();
    /** Written on the origin's loop. */
    volatile int uploadBytes;
    private volatile Channel channel;
    private volatile Http2ConnectionHandler codec;
    /** Touched on the origin's loop only. */
    private int uploadStream;
    private int resets;
    private int dataBeforeReset;
    private int dataAfterReset;

    int listen() {
      Channel listener = new ServerBootstrap().group(scope.nettyGroup()).channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel accepted) {
            connections.incrementAndGet();
            Answers answers = new Answers();
            codec = new Http2ConnectionHandlerBuilder().server(true)
              .frameLogger(new UploadFrames()).frameListener(answers).build();
            channel = accepted;
            accepted.pipeline().addLast(new ReadGate(), codec);
          }
        })
        .bind(new InetSocketAddress("127.0.0.1", 0)).syncUninterruptibly().channel();
      scope.track(() -> listener.close().syncUninterruptibly());
      return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    /** Gives /upload's stream back the window its bytes took. */
    void returnUploadWindow() {
      channel.eventLoop().execute(() -> {
        try {
          codec.decoder().flowController().consumeBytes(codec.connection().stream(uploadStream), uploadBytes);
        } catch (Http2Exception e) {
          fenced.completeExceptionally(e);
        }
        channel.flush();
      });
    }

    void readAgain() {
      channel.eventLoop().execute(() -> channel.pipeline().get(ReadGate.class).open(channel));
    }

    /** Counts /upload's frames read, before the codec's own handling. */
    private final class UploadFrames extends Http2FrameLogger {

      UploadFrames() {
        super(LogLevel.TRACE);
      }

      @Override
      public void logData(Direction direction, ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding,
                          boolean endStream) {
        if (direction == Direction.INBOUND && streamId == uploadStream) {
          if (resets == 0) {
            dataBeforeReset++;
          } else {
            dataAfterReset++;
          }
        }
      }

      @Override
      public void logRstStream(Direction direction, ChannelHandlerContext ctx, int streamId, long errorCode) {
        if (direction == Direction.INBOUND && streamId == uploadStream) {
          resets++;
        }
      }
    }

    private final class Answers extends Http2FrameAdapter {

      private boolean windowOpened;

      @Override
      public void onSettingsRead(ChannelHandlerContext ctx, Http2Settings settings) throws Http2Exception {
        if (!windowOpened) {
          windowOpened = true;
          codec.decoder().flowController().incrementWindowSize(codec.connection().connectionStream(), WINDOW);
          ctx.flush();
        }
      }

      @Override
      public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
                                boolean end) throws Http2Exception {
        String path = headers.path().toString();
        if (path.equals("/upload")) {
          uploadStream = streamId;
        } else if (path.equals("/filler")) {
          codec.decoder().flowController().incrementWindowSize(codec.connection().stream(streamId), WINDOW);
          ctx.flush();
          ctx.pipeline().get(ReadGate.class).close(ctx.channel());
        } else {
          codec.encoder().writeHeaders(ctx, streamId, new DefaultHttp2Headers().status("200"), 0, true,
            ctx.newPromise());
          ctx.flush();
        }
      }

      @Override
      public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int dependency,
                                short weight, boolean exclusive, int padding, boolean end) throws Http2Exception {
        onHeadersRead(ctx, streamId, headers, padding, end);
      }

      @Override
      public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean end) {
        if (streamId == uploadStream) {
          uploadBytes += data.readableBytes();
          return padding; // its bytes stay unconsumed: the stream's window stays used
        }
        return data.readableBytes() + padding;
      }

      @Override
      public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
        if (streamId == uploadStream) {
          codec.encoder().writePing(ctx, false, FENCE, ctx.newPromise());
          ctx.flush();
        }
      }

      @Override
      public void onPingAckRead(ChannelHandlerContext ctx, long data) {
        if (data == FENCE) {
          fenced.complete(new Fenced(resets, dataBeforeReset, dataAfterReset));
        }
      }
    }
  }

  /**
   * Stops a connection's reads until opened again. Turning auto-read off alone is not enough under an
   * HTTP/2 codec: its decoder hands frames to a listener, not down the pipeline, and so asks for the
   * next read itself.
   */
  private static final class ReadGate extends ChannelOutboundHandlerAdapter {

    private boolean closed;

    void close(Channel channel) {
      closed = true;
      channel.config().setAutoRead(false);
    }

    void open(Channel channel) {
      closed = false;
      channel.config().setAutoRead(true);
      channel.read();
    }

    @Override
    public void read(ChannelHandlerContext ctx) {
      if (!closed) {
        ctx.read();
      }
    }
  }
}
