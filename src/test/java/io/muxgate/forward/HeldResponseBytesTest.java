package io.muxgate.forward;

import io.muxgate.support.Await;
import io.muxgate.support.GeneratedBody;
import io.muxgate.support.MuxgateProcess;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.RawFrameClient;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.netty.channel.Channel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Stream;
import io.vertx.core.Future;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.HostAndPort;
import io.vertx.core.net.impl.ConnectionBase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * Clients that read nothing hold their own downloads back, and the process holds the bytes their origin
 * sent meanwhile; one stream at most its receive window, all of them together no more than a share of the
 * direct memory the JVM may use. Unbounded, some 250 such clients filled a 256 MB cap, and every event loop
 * then slept in the JDK's wait for direct memory, other zones' requests with them.
 */
class HeldResponseBytesTest {

  private static final long MiB = 1024 * 1024;
  /**
   * Muxgate's direct-memory cap in these tests, a quarter of it, 8 MiB, the budget; and the streams mode the
   * tests run in ({@code make test} runs them with Vert.x's streams too).
   */
  private static final List<String> JVM_FLAGS = List.of("-XX:MaxDirectMemorySize=32m",
    "-Dmuxgate.frame_streams=" + System.getProperty("muxgate.frame_streams", "true"),
    "-Dmuxgate.front_streams=" + System.getProperty("muxgate.front_streams", "true"));
  private static final long BUDGET = 8 * MiB;
  /** Each stalled download: more than the largest receive window a stream toward the origin has. */
  private static final long BIG_BODY = 4 * MiB;
  /**
   * HTTP/2 clients that send no WINDOW_UPDATE, past their first 64 KiB reading nothing of any stream; their
   * streams' initial windows add up to twice the budget. (An HTTP/1.1 client that reads nothing first fills
   * the kernel's socket buffers, megabytes on loopback, which are not the proxy's memory.)
   */
  private static final int STALLED_CLIENTS = 2;
  private static final int STREAMS_PER_CLIENT = 64;
  /** The receive window a stream toward the origin starts with. */
  private static final long INITIAL_ORIGIN_STREAM_WINDOW = 128 * 1024;
  /**
   * Per stream, beside the budget: the frame the proxy queued for its client before it found the client's
   * window shut, and the 64 KiB a client's connection window let through, spread over its streams.
   */
  private static final long FIRST_FRAME_SLACK = 24 * 1024;
  private static final HostAndPort SITE = HostAndPort.create("site.test", -1);

  @RegisterExtension
  final TestScope scope = new TestScope();
  private final List<StalledDownload> stalledDownloads = new CopyOnWriteArrayList<>();
  /** What the origin sent for each {@code /size/N}. */
  private final Map<String, GeneratedBody.Digest> sent = new ConcurrentHashMap<>();

  /**
   * Muxgate's own origin streams only: with {@code -Dmuxgate.frame_streams=false} Vert.x's client stream
   * keeps what the origin sends while the proxy has not taken its last chunk, in a queue of its own, and
   * the budget never sees those bytes (one initial stream window each at most).
   */
  @Test
  void clientsThatReadNothingHoldNoMoreThanTheProcessBudgetAndItFreesWhenTheyGo() throws Exception {
    assumeFalse("false".equals(System.getProperty("muxgate.frame_streams")), "Vert.x's origin streams");
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(this::serve);
    MuxgateProcess muxgate = scope.track(MuxgateProcess.start(JVM_FLAGS, new JsonObject(),
      Map.of("site.json", ProxyHarness.zone("site", "site.test", List.of(origin.url()), null))));

    List<RawFrameClient> clients = new ArrayList<>();
    for (int c = 0; c < STALLED_CLIENTS; c++) {
      RawFrameClient stalled = RawFrameClient.connect(scope, scope.nettyGroup(), muxgate.httpPort());
      clients.add(stalled);
      for (int i = 0; i < STREAMS_PER_CLIENT; i++) {
        stalled.headers(2 * i + 1, new DefaultHttp2Headers().method("GET").scheme("http").path("/big")
          .authority("site.test"), true);
      }
    }
    int streams = STALLED_CLIENTS * STREAMS_PER_CLIENT;
    Await.until(() -> stalledDownloads.size() == streams && stalledDownloads.stream().allMatch(d -> d.window() <= 0),
      "the origin to have sent every download all the window the proxy gave it");
    Await.until(() -> muxgate.stdout.stream().anyMatch(l -> l.contains("\"client_too_slow\"")),
      "a download past the budget cut and logged as client_too_slow");

    for (RawFrameClient client : clients) {
      client.closeFuture().channel().close();
    }
    Await.until(() -> bigDownloads(muxgate).size() == streams, "every stalled download to end");
    long held = bigDownloads(muxgate).stream().filter(l -> "client_closed".equals(l.getString("error")))
      .mapToLong(l -> l.getLong("bytes_out")).sum();
    assertTrue(held <= BUDGET + streams * FIRST_FRAME_SLACK, "bytes held for clients that read nothing: " + held
      + "; their streams' initial windows alone are " + streams * INITIAL_ORIGIN_STREAM_WINDOW);
    // What they held counts no more: a client that reads takes more than the whole budget, twice.
    for (int i = 0; i < 2; i++) {
      assertEquals(3 * BUDGET, download(muxgate, 3 * BUDGET), "bytes of a download read as it comes");
    }
  }

  /**
   * A download whose client reads at its own pace backs up for moments while clients that read nothing hold
   * the whole budget: it is not the one cut, they are, those that have held their bytes the longest first. It
   * was the one cut, at its first moment backed up, while the stalled streams kept their share until
   * {@code client_stalled} at {@code proxy_read_timeout}. On two event loops, so that a stream going over cuts
   * streams of the other loop too. Muxgate's own origin streams only, as above: with Vert.x's, the stalled
   * streams' bytes wait in Vert.x's queues and never fill the budget.
   */
  @Test
  void aClientThatReadsIsServedWhileClientsThatReadNothingFillTheBudget() throws Exception {
    assumeFalse("false".equals(System.getProperty("muxgate.frame_streams")), "Vert.x's origin streams");
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(this::serve);
    MuxgateProcess muxgate = scope.track(MuxgateProcess.start(JVM_FLAGS,
      new JsonObject().put("event_loops", Integer.getInteger("muxgate.test.event_loops", 2)),
      Map.of("site.json", ProxyHarness.zone("site", "site.test", List.of(origin.url()), null))));
    for (int c = 0; c < STALLED_CLIENTS; c++) {
      RawFrameClient stalled = RawFrameClient.connect(scope, scope.nettyGroup(), muxgate.httpPort());
      for (int i = 0; i < STREAMS_PER_CLIENT; i++) {
        stalled.headers(2 * i + 1, new DefaultHttp2Headers().method("GET").scheme("http").path("/big")
          .authority("site.test"), true);
      }
    }
    int streams = STALLED_CLIENTS * STREAMS_PER_CLIENT;
    Await.until(() -> muxgate.stdout.stream().anyMatch(l -> l.contains("\"client_too_slow\"")),
      "the stalled downloads to fill the budget, one past it cut and logged as client_too_slow");
    Await.until(() -> stalledDownloads.size() == streams && stalledDownloads.stream().allMatch(d -> d.window() <= 0),
      "the origin to have sent every stalled download all the window the proxy gave it");

    long size = 2 * BUDGET;
    GeneratedBody.Digest read = pacedDownload(muxgate, size);
    assertEquals(sent("/size/" + size), read, "what a client reading at its pace got");
    String path = "\"/size/" + size + "\"";
    Await.until(() -> muxgate.stdout.stream().anyMatch(l -> l.contains(path)), "the download's access log line");
    JsonObject served = muxgate.stdout.stream().filter(l -> l.contains(path)).map(JsonObject::new).findFirst()
      .orElseThrow();
    assertEquals(null, served.getString("error"), "the reading client's download: " + served);
    assertTrue(bigDownloads(muxgate).stream().anyMatch(l -> "client_too_slow".equals(l.getString("error"))),
      "stalled downloads cut as client_too_slow");
  }

  /** The access log's lines for the stalled downloads. */
  private static List<JsonObject> bigDownloads(MuxgateProcess muxgate) {
    return muxgate.stdout.stream().filter(l -> l.contains("\"/big\"")).map(JsonObject::new).toList();
  }

  @Test
  void aClientThatReadsGetsDownloadsLargerThanTheBudgetOneAfterAnother() throws Exception {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(this::serve);
    MuxgateProcess muxgate = scope.track(MuxgateProcess.start(JVM_FLAGS, new JsonObject(),
      Map.of("site.json", ProxyHarness.zone("site", "site.test", List.of(origin.url()), null))));
    for (int i = 0; i < 3; i++) {
      assertEquals(2 * BUDGET, download(muxgate, 2 * BUDGET), "bytes of download " + i);
    }
  }

  /**
   * The body an h2c client got that takes one chunk a millisecond, as a client on a slower link reads: the
   * proxy's stream to it backs up, again and again.
   */
  private GeneratedBody.Digest pacedDownload(MuxgateProcess muxgate, long size) {
    HttpClientAgent client = scope.vertx().createHttpClient(new HttpClientOptions()
      .setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false));
    scope.track(() -> Await.result(client.close()));
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET).setHost("127.0.0.1")
      .setPort(muxgate.httpPort()).setURI("/size/" + size);
    Future<GeneratedBody.Digest> read = client.request(options).compose(req -> req.authority(SITE).send()
      .compose(resp -> {
        resp.pause();
        long pace = scope.vertx().setPeriodic(1, id -> resp.fetch(1));
        return readWhole(resp).onComplete(done -> scope.vertx().cancelTimer(pace));
      }));
    return Await.result(read, 120);
  }

  /** What the origin sent for {@code path}, once it has sent it all. */
  private GeneratedBody.Digest sent(String path) {
    Await.until(() -> sent.containsKey(path), "the origin to have sent " + path);
    return sent.get(path);
  }

  /** {@code /big}: a stalled download; {@code /size/N}: N bytes. */
  private void serve(HttpServerRequest request) {
    boolean big = request.path().equals("/big");
    long size = big ? BIG_BODY : Long.parseLong(request.path().substring("/size/".length()));
    GeneratedBody.Writer writer = GeneratedBody.writer(request.response().setChunked(true), size, 7);
    if (big) {
      Channel channel = ((ConnectionBase) request.connection()).channel();
      stalledDownloads.add(new StalledDownload(channel, channel.pipeline().get(Http2ConnectionHandler.class),
        request.streamId()));
    }
    writer.start().onSuccess(d -> {
      sent.put(request.path(), d);
      request.response().end();
    });
  }

  /** The body's length as an h2c client read it while it arrived. */
  private long download(MuxgateProcess muxgate, long size) {
    HttpClientAgent client = scope.vertx().createHttpClient(new HttpClientOptions()
      .setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false));
    scope.track(() -> Await.result(client.close()));
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET).setHost("127.0.0.1")
      .setPort(muxgate.httpPort()).setURI("/size/" + size);
    Future<GeneratedBody.Digest> read = client.request(options)
      .compose(req -> req.authority(SITE).send().compose(resp -> readWhole(resp)));
    return Await.result(read, 60).bytes();
  }

  private static Future<GeneratedBody.Digest> readWhole(HttpClientResponse response) {
    return GeneratedBody.digest(response);
  }

  /** A download as its origin sees it. */
  private record StalledDownload(Channel channel, Http2ConnectionHandler codec, int streamId) {

    /**
     * What the proxy lets the origin send on it now, -1 once the stream is closed: the proxy cut it. Without
     * the client reading, the proxy returns nothing of the window, which falls to 0 as the origin sends.
     */
    int window() {
      return channel.eventLoop().submit(() -> {
        Http2Stream stream = codec.connection().stream(streamId);
        return stream == null || stream.state() == Http2Stream.State.CLOSED ? -1
          : codec.encoder().flowController().windowSize(stream);
      }).syncUninterruptibly().getNow();
    }
  }


}
