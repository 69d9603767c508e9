import io.muxgate.origin.RelayPipeline;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.net.OpenSSLEngineOptions;
import io.vertx.core.net.PemKeyCertOptions;

import java.util.Map;

/**
 * The other half of the measuring stick: Vert.x's HTTP/2 server in front, as in Muxgate (OpenSSL, flushes
 * merged and the chunked writer removed by Muxgate's own {@link RelayPipeline}), and {@link FrameRelay}'s
 * frame-level origin side behind it. Between {@link FrameRelay} and this is what Vert.x's server streams
 * cost; between this and Muxgate, what its client streams and Muxgate's per-request work cost. One event
 * loop, no features.
 *
 * <p>Usage: {@code java -cp muxgate.jar:classes VertxFront <port> <cert.pem> <key.pem> <origin host> <origin port>}
 */
public final class VertxFront {

  private final FrameRelay.Origins origins;

  private VertxFront(FrameRelay.Origins origins) {
    this.origins = origins;
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 5) {
      System.err.println("usage: VertxFront <port> <cert.pem> <key.pem> <origin host> <origin port>");
      System.exit(2);
    }
    Vertx vertx = Vertx.builder()
        .with(new VertxOptions().setPreferNativeTransport(true).setEventLoopPoolSize(1)).build();
    ContextInternal loop = (ContextInternal) vertx.getOrCreateContext();
    VertxFront front = new VertxFront(
        new FrameRelay.Origins(loop.nettyEventLoop(), args[3], Integer.parseInt(args[4])));
    HttpServerOptions options = new HttpServerOptions().setHost("127.0.0.1").setPort(Integer.parseInt(args[0]))
        .setSsl(true).setUseAlpn(true).setSslEngineOptions(new OpenSSLEngineOptions())
        .setKeyCertOptions(new PemKeyCertOptions().setCertPath(args[1]).setKeyPath(args[2]))
        .setInitialSettings(new Http2Settings().setMaxConcurrentStreams(FrameRelay.STREAMS_PER_ORIGIN_CONNECTION));
    // listen from the loop's context, so requests run on the loop the origin connections live on
    loop.runOnContext(v -> vertx.createHttpServer(options).connectionHandler(RelayPipeline::install)
        .requestHandler(front::relay).listen()
        .onSuccess(server -> System.out.println("VertxFront listening on 127.0.0.1:" + args[0]))
        .onFailure(cause -> {
          cause.printStackTrace();
          System.exit(1);
        }));
  }

  private void relay(HttpServerRequest request) {
    Http2Headers head = new DefaultHttp2Headers(false, request.headers().size() + 6);
    head.method(request.method().name()).path(request.uri()).scheme(FrameRelay.HTTPS)
        .authority(request.authority().toString());
    for (Map.Entry<String, String> header : request.headers()) {
      head.add(header.getKey(), header.getValue());
    }
    head.add(FrameRelay.X_FORWARDED_FOR, FrameRelay.LOOPBACK);
    head.add(FrameRelay.X_FORWARDED_PROTO, FrameRelay.HTTPS);
    Response response = new Response(request.response());
    if (request.isEnded()) {
      origins.send(head, true, response);
      return;
    }
    // Vert.x hands the request over before its END_STREAM is read, even for a GET: like Vert.x's own
    // client (and so Muxgate), send the head with the first body chunk or with the end, not before
    RequestBody body = new RequestBody(head, response);
    request.handler(body::chunk);
    request.endHandler(v -> body.end());
  }

  private final class RequestBody {
    private final Http2Headers head;
    private final Response response;
    private FrameRelay.StreamRef origin;

    RequestBody(Http2Headers head, Response response) {
      this.head = head;
      this.response = response;
    }

    void chunk(Buffer chunk) {
      if (origin == null) {
        origin = origins.send(head, false, response);
      }
      ByteBuf copy = Unpooled.wrappedBuffer(chunk.getBytes());
      origin.data(copy, false);   // takes its own reference, as for a frame the codec will release
      copy.release();
    }

    void end() {
      if (origin == null) {
        origins.send(head, true, response);
      } else {
        origin.data(Unpooled.EMPTY_BUFFER, true);
      }
    }
  }

  /** The origin's response, written through the Vert.x server response as Muxgate writes it. */
  private record Response(HttpServerResponse response) implements FrameRelay.ResponseSink {
    @Override
    public void headers(Http2Headers headers, boolean endStream) {
      response.setStatusCode(Integer.parseInt(headers.status().toString()));
      for (Map.Entry<CharSequence, CharSequence> header : headers) {
        if (header.getKey().charAt(0) != ':') {
          response.headers().add(header.getKey(), header.getValue());
        }
      }
      if (endStream) {
        response.end();
      } else {
        response.writeHead();
      }
    }

    @Override
    public void data(ByteBuf data, boolean endStream) {
      if (data.isReadable()) {
        response.write(Buffer.buffer(ByteBufUtil.getBytes(data)));
      }
      if (endStream) {
        response.end();
      }
    }

    @Override
    public void reset(long errorCode) {
      response.reset(errorCode);
    }
  }
}
