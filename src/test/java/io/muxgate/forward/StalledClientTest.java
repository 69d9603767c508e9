package io.muxgate.forward;

import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.GeneratedBody;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.RawFrameClient;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.HostAndPort;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A client that stops reading holds back its own downloads only. The proxy gives response bytes back to
 * the origin's flow-control window once the client has taken them; streams whose client reads nothing keep
 * their bytes, and those must not add up to the origin connection's whole window: every other client's
 * response on that connection (same zone, other people) would get its head and then no body at all.
 */
class StalledClientTest {

  /** Downloads of the stalled client: more than the origin connection's window over a stream's window. */
  private static final int STALLED_STREAMS = 24;
  private static final long BIG_BODY = 4L * 1024 * 1024;
  private static final long SMALL_BODY = 100_000;
  private static final long QUIET_NANOS = 300_000_000L;

  @RegisterExtension
  final TestScope scope = new TestScope();
  private final List<GeneratedBody.Writer> downloads = new CopyOnWriteArrayList<>();

  @ParameterizedTest(name = "{0}")
  @EnumSource(value = ClientKind.class, names = {"H2C", "HTTP1"})
  void downloadsAClientDoesNotReadDoNotStallOtherClientsOfTheOriginConnection(ClientKind kind) throws InterruptedException {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(this::serve);
    // One origin connection, so that the other client's request shares it with the stalled ones.
    ProxyHarness proxy = scope.startProxy("z", origin.url(), new JsonObject().put("origin_max_connections", 1));
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    scope.track(() -> group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly());

    // Sends no WINDOW_UPDATE: past its first 64 KiB it reads nothing more of any stream.
    RawFrameClient stalled = RawFrameClient.connect(scope, group, proxy.httpPort());
    for (int i = 0; i < STALLED_STREAMS; i++) {
      stalled.headers(2 * i + 1, new DefaultHttp2Headers().method("GET").scheme("http").path("/big")
        .authority("z.test"), true);
    }
    awaitOriginStalled();

    Future<Integer> other = scope.client(kind, proxy).request(HttpMethod.GET, "/small")
      .compose(req -> req.authority(HostAndPort.create("z.test", -1)).send().compose(HttpClientResponse::body))
      .map(Buffer::length);   // the body read as the response arrives (see GeneratedBody)
    assertEquals(SMALL_BODY, (long) Await.result(other, 10), "bytes of another client's download");
    assertEquals(1, origin.connectionsAccepted());
  }

  private void serve(HttpServerRequest request) {
    boolean big = request.path().equals("/big");
    GeneratedBody.Writer writer = GeneratedBody.writer(request.response().setChunked(true),
      big ? BIG_BODY : SMALL_BODY, 7);
    if (big) {
      downloads.add(writer);
    }
    writer.start().onSuccess(d -> request.response().end());
  }

  /** Waits until the origin has written what it can to every stalled download and then nothing for a while. */
  private void awaitOriginStalled() {
    long[] last = {-1};
    long[] since = {System.nanoTime()};
    Await.until(() -> {
      if (downloads.size() < STALLED_STREAMS) {
        return false;
      }
      long written = downloads.stream().mapToLong(GeneratedBody.Writer::written).sum();
      if (written != last[0]) {
        last[0] = written;
        since[0] = System.nanoTime();
        return false;
      }
      return System.nanoTime() - since[0] > QUIET_NANOS;
    }, "the origin's writes to a client that reads nothing to stall");
  }
}
