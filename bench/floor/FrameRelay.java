import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2ConnectionHandlerBuilder;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameAdapter;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.util.AsciiString;
import io.netty.util.collection.IntObjectHashMap;
import io.netty.util.collection.IntObjectMap;

import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A measuring stick, not a proxy: the least an HTTP/2-to-HTTP/2 relay on Netty's codec can do per request.
 * TLS (OpenSSL) on both sides, one event loop, streams relayed frame by frame onto origin connections of at
 * most {@value #STREAMS_PER_ORIGIN_CONNECTION} streams, a new connection only when all are full, flushes
 * merged per loop turn as Muxgate merges them. No routing, header policy, timeouts, errors, metrics or
 * logs, and no Vert.x: the gap between this and Muxgate is what the Vert.x stream layer and Muxgate's
 * features cost; the gap between this and HAProxy is what Netty and the JVM cost. {@code bench/floor.sh}
 * runs it beside both.
 *
 * <p>Usage: {@code java -cp muxgate.jar:classes FrameRelay <port> <cert.pem> <key.pem> <origin host> <origin port>}
 */
public final class FrameRelay {

  private static final int STREAMS_PER_ORIGIN_CONNECTION = 100;
  private static final int FLUSHES_MERGED = 64;
  private static final AsciiString X_FORWARDED_FOR = AsciiString.cached("x-forwarded-for");
  private static final AsciiString X_FORWARDED_PROTO = AsciiString.cached("x-forwarded-proto");
  private static final AsciiString LOOPBACK = AsciiString.cached("127.0.0.1");
  private static final AsciiString HTTPS = AsciiString.cached("https");

  private final EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
  private final SslContext originTls;
  private final String originHost;
  private final int originPort;
  private final List<OriginConnection> origins = new ArrayList<>();

  private FrameRelay(SslContext originTls, String originHost, int originPort) {
    this.originTls = originTls;
    this.originHost = originHost;
    this.originPort = originPort;
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 5) {
      System.err.println("usage: FrameRelay <port> <cert.pem> <key.pem> <origin host> <origin port>");
      System.exit(2);
    }
    ApplicationProtocolConfig h2 = new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, "h2");
    SslContext clientTls = SslContextBuilder.forServer(new File(args[1]), new File(args[2]))
        .sslProvider(SslProvider.OPENSSL).applicationProtocolConfig(h2).build();
    SslContext originTls = SslContextBuilder.forClient().trustManager(InsecureTrustManagerFactory.INSTANCE)
        .sslProvider(SslProvider.OPENSSL).applicationProtocolConfig(h2).build();
    new FrameRelay(originTls, args[3], Integer.parseInt(args[4])).listen(Integer.parseInt(args[0]), clientTls);
  }

  private void listen(int port, SslContext clientTls) throws InterruptedException {
    new ServerBootstrap().group(loop).channel(EpollServerSocketChannel.class)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel channel) {
            ClientConnection client = new ClientConnection();
            client.h2 = new Http2ConnectionHandlerBuilder().server(true)
                .initialSettings(Http2Settings.defaultSettings().maxConcurrentStreams(STREAMS_PER_ORIGIN_CONNECTION))
                .frameListener(new ClientFrames(client)).build();
            channel.pipeline().addLast(clientTls.newHandler(channel.alloc()),
                new FlushConsolidationHandler(FLUSHES_MERGED, true), client.h2);
            client.ctx = channel.pipeline().context(client.h2);
          }
        }).bind("127.0.0.1", port).sync();
    System.out.println("FrameRelay listening on 127.0.0.1:" + port);
  }

  /** The first origin connection with a free stream, or a new one. */
  private OriginConnection originWithRoom() {
    for (OriginConnection origin : origins) {
      if (origin.inFlight < STREAMS_PER_ORIGIN_CONNECTION) {
        return origin;
      }
    }
    OriginConnection origin = new OriginConnection();
    origin.h2 = new Http2ConnectionHandlerBuilder().server(false).frameListener(new OriginFrames(origin)).build();
    ChannelFuture connected = new Bootstrap().group(loop).channel(EpollSocketChannel.class)
        .option(ChannelOption.TCP_NODELAY, true)
        .handler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel channel) {
            channel.pipeline().addLast(originTls.newHandler(channel.alloc(), originHost, originPort),
                new FlushConsolidationHandler(FLUSHES_MERGED, true), origin.h2);
          }
        }).connect(originHost, originPort);
    origins.add(origin);
    connected.addListener(done -> {
      if (!done.isSuccess()) {
        origins.remove(origin);
        System.err.println("origin connection failed: " + done.cause());
        return;
      }
      // connect listeners run before channelActive, where the codec writes its preface: start after it
      Channel channel = connected.channel();
      channel.eventLoop().execute(() -> origin.open(channel.pipeline().context(origin.h2)));
    });
    return origin;
  }

  private static Http2Headers copy(Http2Headers headers, int extra) {
    Http2Headers copy = new DefaultHttp2Headers(false, headers.size() + extra);
    for (Map.Entry<CharSequence, CharSequence> header : headers) {
      copy.add(header.getKey(), header.getValue());
    }
    return copy;
  }

  /** One side of the relay: a connection and its codec, which the other side writes frames to. */
  private abstract static class Peer {
    Http2ConnectionHandler h2;
    ChannelHandlerContext ctx;

    /** Runs {@code writes} now (or, for an origin still connecting, once it is up); the codec's flush sends them. */
    abstract void write(Runnable writes);

    void headers(int stream, Http2Headers headers, boolean end) {
      write(() -> h2.encoder().writeHeaders(ctx, stream, headers, 0, end, ctx.newPromise()));
    }

    void data(int stream, ByteBuf data, boolean end) {
      ByteBuf body = data.retain();
      write(() -> h2.encoder().writeData(ctx, stream, body, 0, end, ctx.newPromise()));
    }

    void reset(int stream, long errorCode) {
      write(() -> h2.encoder().writeRstStream(ctx, stream, errorCode, ctx.newPromise()));
    }
  }

  /** A stream on the other side of the relay. */
  private record StreamRef(Peer peer, int id) {
  }

  private static final class ClientConnection extends Peer {
    /** client stream id → the origin stream carrying its request body, while the body lasts */
    final IntObjectMap<StreamRef> requestBodies = new IntObjectHashMap<>();

    @Override
    void write(Runnable writes) {
      writes.run();
      h2.flush(ctx);
    }
  }

  private static final class OriginConnection extends Peer {
    int inFlight;
    /** origin stream id → the client stream its response goes to */
    final IntObjectMap<StreamRef> responses = new IntObjectHashMap<>();
    /** writes made before the connection was up, in stream order */
    private List<Runnable> waiting = new ArrayList<>();

    void open(ChannelHandlerContext ctx) {
      this.ctx = ctx;
      List<Runnable> ready = waiting;
      waiting = null;
      ready.forEach(Runnable::run);
      h2.flush(ctx);
    }

    @Override
    void write(Runnable writes) {
      if (waiting != null) {
        waiting.add(writes);
        return;
      }
      writes.run();
      h2.flush(ctx);
    }

    void ended(int streamId) {
      if (responses.remove(streamId) != null) {
        inFlight--;
      }
    }
  }

  /** Frames read from one connection; both directions ignore stream priorities. */
  private abstract static class Frames extends Http2FrameAdapter {
    @Override
    public final void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int dependency,
        short weight, boolean exclusive, int padding, boolean endStream) throws Http2Exception {
      onHeadersRead(ctx, streamId, headers, padding, endStream);
    }
  }

  private final class ClientFrames extends Frames {
    private final ClientConnection client;

    ClientFrames(ClientConnection client) {
      this.client = client;
    }

    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
        boolean endStream) {
      OriginConnection origin = originWithRoom();
      Http2Headers request = copy(headers, 2);
      request.add(X_FORWARDED_FOR, LOOPBACK);
      request.add(X_FORWARDED_PROTO, HTTPS);
      int originStream = origin.h2.connection().local().incrementAndGetNextStreamId();
      origin.inFlight++;
      origin.responses.put(originStream, new StreamRef(client, streamId));
      if (!endStream) {
        client.requestBodies.put(streamId, new StreamRef(origin, originStream));
      }
      origin.headers(originStream, request, endStream);
    }

    @Override
    public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean endOfStream) {
      StreamRef to = endOfStream ? client.requestBodies.remove(streamId) : client.requestBodies.get(streamId);
      if (to != null) {
        to.peer().data(to.id(), data, endOfStream);
      }
      return data.readableBytes() + padding;
    }

    @Override
    public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
      StreamRef to = client.requestBodies.remove(streamId);
      if (to != null) {
        to.peer().reset(to.id(), errorCode);
      }
    }
  }

  private static final class OriginFrames extends Frames {
    private final OriginConnection origin;

    OriginFrames(OriginConnection origin) {
      this.origin = origin;
    }

    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
        boolean endStream) {
      StreamRef to = origin.responses.get(streamId);
      if (endStream) {
        origin.ended(streamId);
      }
      if (to != null) {
        to.peer().headers(to.id(), copy(headers, 0), endStream);
      }
    }

    @Override
    public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean endOfStream) {
      StreamRef to = origin.responses.get(streamId);
      if (endOfStream) {
        origin.ended(streamId);
      }
      if (to != null) {
        to.peer().data(to.id(), data, endOfStream);
      }
      return data.readableBytes() + padding;
    }

    @Override
    public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
      StreamRef to = origin.responses.get(streamId);
      origin.ended(streamId);
      if (to != null) {
        to.peer().reset(to.id(), errorCode);
      }
    }
  }
}
