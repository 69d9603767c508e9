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
import javax.net.ssl.SSLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A measuring stick, not a proxy: the least an HTTP/2-to-HTTP/2 relay on Netty's codec can do per request.
 * TLS (OpenSSL) on both sides, one event loop, streams relayed frame by frame onto origin connections of at
 * most {@value #STREAMS_PER_ORIGIN_CONNECTION} streams, a new connection only when all are full, flushes
 * merged per loop turn as Muxgate merges them. No routing, header policy, timeouts, errors, metrics or
 * logs, and no Vert.x: the gap between this and Muxgate is what the Vert.x stream layer and Muxgate's
 * features cost; the gap between this and HAProxy is what Netty and the JVM cost. {@link VertxFront} puts
 * Vert.x's HTTP/2 server in front of the same origin side, to split the first gap by side.
 * {@code bench/floor.sh} runs them beside Muxgate and HAProxy.
 *
 * <p>Usage: {@code java -cp muxgate.jar:classes FrameRelay <port> <cert.pem> <key.pem> <origin host> <origin port>}
 */
public final class FrameRelay {

  static final int STREAMS_PER_ORIGIN_CONNECTION = 100;
  static final int FLUSHES_MERGED = 64;
  static final AsciiString X_FORWARDED_FOR = AsciiString.cached("x-forwarded-for");
  static final AsciiString X_FORWARDED_PROTO = AsciiString.cached("x-forwarded-proto");
  static final AsciiString LOOPBACK = AsciiString.cached("127.0.0.1");
  static final AsciiString HTTPS = AsciiString.cached("https");
  static final ApplicationProtocolConfig H2 = new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
      ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
      ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, "h2");

  private FrameRelay() {
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 5) {
      System.err.println("usage: FrameRelay <port> <cert.pem> <key.pem> <origin host> <origin port>");
      System.exit(2);
    }
    SslContext clientTls = SslContextBuilder.forServer(new File(args[1]), new File(args[2]))
        .sslProvider(SslProvider.OPENSSL).applicationProtocolConfig(H2).build();
    EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    Origins origins = new Origins(loop, args[3], Integer.parseInt(args[4]));
    new ServerBootstrap().group(loop).channel(EpollServerSocketChannel.class)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel channel) {
            ClientConnection client = new ClientConnection();
            client.h2 = new Http2ConnectionHandlerBuilder().server(true)
                .initialSettings(Http2Settings.defaultSettings().maxConcurrentStreams(STREAMS_PER_ORIGIN_CONNECTION))
                .frameListener(new ClientFrames(client, origins)).build();
            channel.pipeline().addLast(clientTls.newHandler(channel.alloc()),
                new FlushConsolidationHandler(FLUSHES_MERGED, true), client.h2);
            client.ctx = channel.pipeline().context(client.h2);
          }
        }).bind("127.0.0.1", Integer.parseInt(args[0])).sync();
    System.out.println("FrameRelay listening on 127.0.0.1:" + args[0]);
  }

  /** The origin side: h2 connections to one origin, all on one event loop, filled before a new one opens. */
  static final class Origins {
    private final EventLoopGroup loop;
    private final SslContext tls;
    private final String host;
    private final int port;
    private final List<OriginConnection> connections = new ArrayList<>();

    Origins(EventLoopGroup loop, String host, int port) throws SSLException {
      this.loop = loop;
      this.host = host;
      this.port = port;
      this.tls = SslContextBuilder.forClient().trustManager(InsecureTrustManagerFactory.INSTANCE)
          .sslProvider(SslProvider.OPENSSL).applicationProtocolConfig(H2).build();
    }

    /** Opens a stream for {@code request} on the first connection with room; its response goes to {@code sink}. */
    StreamRef send(Http2Headers request, boolean endStream, ResponseSink sink) {
      OriginConnection origin = withRoom();
      int stream = origin.h2.connection().local().incrementAndGetNextStreamId();
      origin.inFlight++;
      origin.responses.put(stream, sink);
      origin.headers(stream, request, endStream);
      return new StreamRef(origin, stream);
    }

    private OriginConnection withRoom() {
      for (OriginConnection origin : connections) {
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
              channel.pipeline().addLast(tls.newHandler(channel.alloc(), host, port),
                  new FlushConsolidationHandler(FLUSHES_MERGED, true), origin.h2);
            }
          }).connect(host, port);
      connections.add(origin);
      connected.addListener(done -> {
        if (!done.isSuccess()) {
          connections.remove(origin);
          System.err.println("origin connection failed: " + done.cause());
          return;
        }
        // connect listeners run before channelActive, where the codec writes its preface: start after it
        Channel channel = connected.channel();
        channel.eventLoop().execute(() -> origin.open(channel.pipeline().context(origin.h2)));
      });
      return origin;
    }
  }

  static Http2Headers copy(Http2Headers headers, int extra) {
    Http2Headers copy = new DefaultHttp2Headers(false, headers.size() + extra);
    for (Map.Entry<CharSequence, CharSequence> header : headers) {
      copy.add(header.getKey(), header.getValue());
    }
    return copy;
  }

  /** One side of the relay: a connection and its codec, which the other side writes frames to. */
  abstract static class Peer {
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

  /** Where an origin stream's response goes. */
  interface ResponseSink {
    void headers(Http2Headers headers, boolean endStream);

    void data(ByteBuf data, boolean endStream);

    void reset(long errorCode);
  }

  /** A stream on the other side of the relay; as a sink, a client stream the response is copied to. */
  record StreamRef(Peer peer, int id) implements ResponseSink {
    @Override
    public void headers(Http2Headers headers, boolean endStream) {
      peer.headers(id, copy(headers, 0), endStream);
    }

    @Override
    public void data(ByteBuf data, boolean endStream) {
      peer.data(id, data, endStream);
    }

    @Override
    public void reset(long errorCode) {
      peer.reset(id, errorCode);
    }
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

  static final class OriginConnection extends Peer {
    int inFlight;
    /** origin stream id → where its response goes */
    final IntObjectMap<ResponseSink> responses = new IntObjectHashMap<>();
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
  abstract static class Frames extends Http2FrameAdapter {
    @Override
    public final void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int dependency,
        short weight, boolean exclusive, int padding, boolean endStream) throws Http2Exception {
      onHeadersRead(ctx, streamId, headers, padding, endStream);
    }
  }

  private static final class ClientFrames extends Frames {
    private final ClientConnection client;
    private final Origins origins;

    ClientFrames(ClientConnection client, Origins origins) {
      this.client = client;
      this.origins = origins;
    }

    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
        boolean endStream) {
      Http2Headers request = copy(headers, 2);
      request.add(X_FORWARDED_FOR, LOOPBACK);
      request.add(X_FORWARDED_PROTO, HTTPS);
      StreamRef origin = origins.send(request, endStream, new StreamRef(client, streamId));
      if (!endStream) {
        client.requestBodies.put(streamId, origin);
      }
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
      ResponseSink to = origin.responses.get(streamId);
      if (endStream) {
        origin.ended(streamId);
      }
      if (to != null) {
        to.headers(headers, endStream);
      }
    }

    @Override
    public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean endOfStream) {
      ResponseSink to = origin.responses.get(streamId);
      if (endOfStream) {
        origin.ended(streamId);
      }
      if (to != null) {
        to.data(data, endOfStream);
      }
      return data.readableBytes() + padding;
    }

    @Override
    public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
      ResponseSink to = origin.responses.get(streamId);
      origin.ended(streamId);
      if (to != null) {
        to.reset(errorCode);
      }
    }
  }
}
