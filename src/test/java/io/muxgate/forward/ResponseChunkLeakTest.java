package io.muxgate.forward;

import io.muxgate.support.Await;
import io.muxgate.support.CapturedLog;
import io.muxgate.support.ClientKind;
import io.muxgate.support.GeneratedBody;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.HostAndPort;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Response bodies from HTTP/2 origins travel as slices of the bytes Netty read, not as copies: each
 * must be written or let go exactly once, whichever way the response ends. Netty's leak detector, at its
 * strictest, watches every buffer while responses complete, are cut by their client and are reset by
 * their origin, to HTTP/2 clients (Muxgate's frame writer) and HTTP/1.1 clients (Vert.x's writer).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ResponseChunkLeakTest {

  private static final int RESPONSES = 40;
  private static final long BODY_BYTES = 256 * 1024;

  @RegisterExtension
  final TestScope scope = new TestScope();
  private ProxyHarness proxy;
  private ResourceLeakDetector.Level levelBefore;

  @BeforeAll
  void start() {
    levelBefore = ResourceLeakDetector.getLevel();
    ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(this::serve);
    proxy = scope.startProxy("chunks", origin.url(), null);
  }

  @AfterAll
  void restore() {
    ResourceLeakDetector.setLevel(levelBefore);
  }

  /** /full: a whole body; /reset: part of one, then RST_STREAM. */
  private void serve(HttpServerRequest request) {
    if (request.path().equals("/reset")) {
      request.response().setChunked(true).write(Buffer.buffer(new byte[16 * 1024]))
        .onComplete(ar -> request.response().reset());
    } else {
      GeneratedBody.write(request.response().setChunked(true), BODY_BYTES, 3)
        .onSuccess(digest -> request.response().end());
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(value = ClientKind.class, names = {"H2C", "HTTP1"})
  void everyChunkIsWrittenOrLetGo(ClientKind kind) throws InterruptedException {
    HttpClientAgent client = scope.client(kind, proxy);
    try (CapturedLog log = CapturedLog.warningsUnder("io.netty")) {
      List<Future<Long>> whole = new ArrayList<>();
      List<Future<?>> all = new ArrayList<>();
      for (int i = 0; i < RESPONSES; i++) {
        whole.add(whole(client));
        all.add(cutByClient(client));
        all.add(resetByOrigin(client));
      }
      all.addAll(whole);
      Await.result(Future.join(all).transform(ar -> Future.succeededFuture()));
      for (Future<Long> f : whole) {
        assertEquals(BODY_BYTES, f.result(), String.valueOf(f.cause()));
      }
      reportLeaks();
      assertEquals(List.of(), log.matching("LEAK"));
    }
  }

  private Future<Long> whole(HttpClientAgent client) {
    return client.request(HttpMethod.GET, "/full").compose(req -> {
      req.authority(HostAndPort.create("chunks.test", -1));
      return req.send();
    }).compose(HttpClientResponse::body).map(body -> (long) body.length());
  }

  /** The client resets its stream (HTTP/2) or closes its connection (HTTP/1.1) after the first chunk. */
  private Future<Void> cutByClient(HttpClientAgent client) {
    Promise<Void> cut = Promise.promise();
    client.request(HttpMethod.GET, "/full").compose(req -> {
      req.authority(HostAndPort.create("chunks.test", -1));
      return req.send().onSuccess(resp -> resp.handler(chunk -> {
        req.reset();
        cut.tryComplete();
      }).exceptionHandler(e -> cut.tryComplete()).endHandler(v -> cut.tryComplete()));
    }).onFailure(e -> cut.tryComplete());
    return cut.future();
  }

  private Future<Void> resetByOrigin(HttpClientAgent client) {
    return client.request(HttpMethod.GET, "/reset").compose(req -> {
      req.authority(HostAndPort.create("chunks.test", -1));
      return req.send();
    }).compose(HttpClientResponse::body).transform(ar -> Future.succeededFuture());
  }

  /**
   * The detector reports a buffer whose tracker it finds collected without a release, at a later
   * allocation: a few rounds of a collection (awaited through a reference of our own) and allocations.
   */
  private static void reportLeaks() throws InterruptedException {
    for (int i = 0; i < 5; i++) {
      ReferenceQueue<Object> queue = new ReferenceQueue<>();
      WeakReference<Object> sentinel = new WeakReference<>(new Object(), queue);
      System.gc();
      assertTrue(queue.remove(10_000) == sentinel, "a collection ran");
      for (int j = 0; j < 100; j++) {
        ByteBuf probe = PooledByteBufAllocator.DEFAULT.directBuffer(64);
        probe.release();
      }
    }
  }
}
