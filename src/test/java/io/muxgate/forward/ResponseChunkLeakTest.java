package io.muxgate.forward;

import io.muxgate.support.Await;
import io.muxgate.support.CapturedLog;
import io.muxgate.support.ClientKind;
import io.muxgate.support.GeneratedBody;
import io.muxgate.support.LeakReports;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.netty.util.ResourceLeakDetector;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.HostAndPort;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Response bodies from HTTP/2 origins travel as slices of the bytes Netty read, not as copies: each
 * must be written or let go exactly once, whichever way the response ends. Netty's leak detector, at its
 * strictest, watches every buffer while responses complete, are cut by their client and are reset by
 * their origin, to HTTP/2 clients (Muxgate's frame writer) and HTTP/1.1 clients (Vert.x's writer). The
 * same runs against an HTTP/1.1 origin, whose response bodies Vert.x's client hands on as slices too.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ResponseChunkLeakTest {

  private static final int RESPONSES = 40;
  private static final long BODY_BYTES = 256 * 1024;
  private static final int UPLOADS = 20;
  /** 4 MiB in small parts, many to a read: far more than the windows and buffers between client and origin. */
  private static final int UPLOAD_PARTS = 4096;
  /** The zones the uploads go to ({@code uploads.<host>}): their 524s close what the clients leave open. */
  private static final int UPLOAD_READ_TIMEOUT_S = 6;
  /**
   * The zones of the other responses: only a hang is to end one. At 6 s, a whole body on an HTTP/2 client's
   * connection, whose window it shares with 119 other streams, went without a byte for that long under the
   * paranoid leak detector on a loaded machine, and was cut as its client's stall ({@code client_stalled}).
   */
  private static final int READ_TIMEOUT_S = 60;
  /** The responses' round, cut at READ_TIMEOUT_S if one hangs: what is still open is then named. */
  private static final long ROUND_BOUND_S = 2 * READ_TIMEOUT_S;

  @RegisterExtension
  final TestScope scope = new TestScope();
  private ProxyHarness proxy;
  private ResourceLeakDetector.Level levelBefore;
  /**
   * What the origin did for each whole response (they have paths of their own): with the proxy's record,
   * a short body, should one ever come (one did, once, in CI), says which side lost the bytes.
   */
  private final Map<String, String> originSaw = new ConcurrentHashMap<>();
  private final AtomicInteger wholeIds = new AtomicInteger();

  @BeforeAll
  void start() {
    levelBefore = ResourceLeakDetector.getLevel();
    ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
    TestOrigin h2c = scope.startOrigin(TestOrigin.Mode.H2C).handler(this::serve);
    TestOrigin h1 = scope.startOrigin(TestOrigin.Mode.H1).handler(this::serve);
    // An HTTP/1.1 client closes a connection only once what it wrote is sent: the uploads it leaves stay
    // open until the proxy gives up on their stalled origin, within UPLOAD_READ_TIMEOUT_S rather than 100 s.
    // Those 524s also put the HTTP/1.1 origin's connections through StuckUploadTest's case, many at once.
    // Not less: under the paranoid leak detector on a loaded machine, a response head behind 39 bodies on
    // the origin's connection took over 3 s. The other responses have zones of their own, with a read
    // timeout that only a hang reaches (see READ_TIMEOUT_S).
    JsonObject h1Settings = new JsonObject().put("origin_max_http_version", "1").put("origin_max_connections", 200);
    proxy = scope.startProxy(Map.of(
      "h2.json", ProxyHarness.zone("h2", "h2.test", List.of(h2c.url()),
        new JsonObject().put("proxy_read_timeout", READ_TIMEOUT_S)),
      "h1.json", ProxyHarness.zone("h1", "h1.test", List.of(h1.url()),
        h1Settings.copy().put("proxy_read_timeout", READ_TIMEOUT_S)),
      "h2-uploads.json", ProxyHarness.zone("h2-uploads", "uploads.h2.test", List.of(h2c.url()),
        new JsonObject().put("proxy_read_timeout", UPLOAD_READ_TIMEOUT_S)),
      "h1-uploads.json", ProxyHarness.zone("h1-uploads", "uploads.h1.test", List.of(h1.url()),
        h1Settings.copy().put("proxy_read_timeout", UPLOAD_READ_TIMEOUT_S))));
  }

  @AfterAll
  void restore() {
    ResourceLeakDetector.setLevel(levelBefore);
  }

  /** /full and /full/N: a whole body; /reset: part of one, then RST_STREAM; /stalled: reads no upload. */
  private void serve(HttpServerRequest request) {
    // the cuts are the point: unhandled, Vert.x would log each as SEVERE
    request.exceptionHandler(expected -> { });
    request.response().exceptionHandler(expected -> { });
    if (request.path().equals("/stalled")) {
      request.pause();
      request.response().setChunked(true).writeHead();
    } else if (request.path().equals("/reset")) {
      request.response().setChunked(true).write(Buffer.buffer(new byte[16 * 1024]))
        .onComplete(ar -> request.response().reset());
    } else {
      String path = request.path();
      originSaw.put(path, "writing");
      GeneratedBody.write(request.response().setChunked(true), BODY_BYTES, 3)
        .compose(digest -> request.response().end().map(digest))
        .onComplete(ar -> originSaw.put(path, ar.succeeded() ? "wrote " + ar.result().bytes() + " bytes and ended"
          : "failed: " + ar.cause()));
    }
  }

  /** Clients of both kinds, origins of both protocols. */
  static Stream<Arguments> paths() {
    return Stream.of(ClientKind.H2C, ClientKind.HTTP1)
      .flatMap(kind -> Stream.of(Arguments.of(kind, "h2.test"), Arguments.of(kind, "h1.test")));
  }

  @ParameterizedTest(name = "{0} client, {1}")
  @MethodSource("paths")
  void everyChunkIsWrittenOrLetGo(ClientKind kind, String host) throws InterruptedException {
    HttpClientAgent client = scope.client(kind, proxy);
    HostAndPort authority = HostAndPort.create(host, -1);
    try (CapturedLog log = CapturedLog.warningsUnder("io.netty")) {
      List<Future<Long>> whole = new ArrayList<>();
      List<String> wholePaths = new ArrayList<>();
      List<Future<Void>> cut = new ArrayList<>();
      List<Future<Void>> reset = new ArrayList<>();
      for (int i = 0; i < RESPONSES; i++) {
        wholePaths.add("/full/" + wholeIds.incrementAndGet());
        whole.add(whole(client, authority, wholePaths.get(i)));
        cut.add(cutByClient(client, authority));
        reset.add(resetByOrigin(client, authority));
      }
      List<Future<?>> all = new ArrayList<>(whole);
      all.addAll(cut);
      all.addAll(reset);
      try {
        Await.result(Future.join(all).transform(ar -> Future.succeededFuture()), ROUND_BOUND_S);
      } catch (AssertionError stuck) {
        throw new AssertionError(stuck.getMessage() + "; still open: " + unfinished(whole, wholePaths) + ", "
          + cut.stream().filter(f -> !f.isComplete()).count() + " cut by the client, "
          + reset.stream().filter(f -> !f.isComplete()).count() + " reset by the origin", stuck);
      }
      HostAndPort uploadAuthority = HostAndPort.create("uploads." + host, -1);
      Future<Void> uploads = Future.succeededFuture();
      for (int i = 0; i < UPLOADS; i++) {
        uploads = uploads.compose(v -> uploadCutByClient(client, uploadAuthority));
      }
      // Not the usual 30 s: with every buffer tracked, an HTTP/1.1 client's 4 MiB in 1 KiB chunks took 0.8-1.6 s
      // per upload on a 2-core machine with a load of 4 (0.15-0.19 s untracked); under more, the 20 ran past 30 s.
      Await.result(uploads, 120);
      for (int i = 0; i < RESPONSES; i++) {
        Future<Long> f = whole.get(i);
        String path = wholePaths.get(i);
        assertEquals(BODY_BYTES, f.result(), () -> "client: " + (f.failed() ? f.cause() : f.result() + " bytes")
          + "; " + sides(path));
      }
      LeakReports.flush();
      // Muxgate's leaks only: a record whose buffer never passed a Muxgate handler is the test origin's own
      // (its Vert.x server drops a paused request's held parts unreleased when the proxy cuts the upload).
      assertEquals(List.of(), LeakReports.sinceFirstRun("ResponseChunkLeakTest",
        log.matching("LEAK").stream().filter(line -> line.contains("muxgate")).toList()));
    }
  }

  /** What the proxy logged and the origin did for the whole response at {@code path}. */
  private String sides(String path) {
    return "proxy: " + proxy.lastRecord(path) + "; origin: " + originSaw.get(path);
  }

  /** The whole responses not yet complete, each with what the proxy and the origin last did for it. */
  private String unfinished(List<Future<Long>> whole, List<String> paths) {
    List<String> open = new ArrayList<>();
    for (int i = 0; i < whole.size(); i++) {
      if (!whole.get(i).isComplete()) {
        open.add(paths.get(i) + " (" + sides(paths.get(i)) + ")");
      }
    }
    return open.size() + " whole " + open;
  }

  private Future<Long> whole(HttpClientAgent client, HostAndPort authority, String path) {
    // The body is read from the response's own context, as it arrives (see GeneratedBody).
    return client.request(HttpMethod.GET, path).compose(req -> {
      req.authority(authority);
      return req.send().compose(HttpClientResponse::body);
    }).map(body -> (long) body.length());
  }

  /** The client resets its stream (HTTP/2) or closes its connection (HTTP/1.1) after the first chunk. */
  private Future<Void> cutByClient(HttpClientAgent client, HostAndPort authority) {
    Promise<Void> cut = Promise.promise();
    client.request(HttpMethod.GET, "/full").compose(req -> {
      req.authority(authority);
      req.exceptionHandler(expected -> { });
      return req.send().onSuccess(resp -> resp.handler(chunk -> {
        req.reset();
        cut.tryComplete();
      }).exceptionHandler(e -> cut.tryComplete()).endHandler(v -> cut.tryComplete()));
    }).onFailure(e -> cut.tryComplete());
    return cut.future();
  }

  /**
   * The client sends far more body than the origin, which answers without reading it, lets the proxy
   * take; once the answer's head is back, it resets its stream or closes its connection while the proxy
   * holds the body's parts it could not pass on.
   */
  private Future<Void> uploadCutByClient(HttpClientAgent client, HostAndPort authority) {
    return client.request(HttpMethod.POST, "/stalled").compose(req -> {
      req.authority(authority);
      req.exceptionHandler(expected -> { });
      req.setChunked(true);
      Buffer part = Buffer.buffer(new byte[1024]);
      for (int i = 0; i < UPLOAD_PARTS; i++) {
        req.write(part);
      }
      return req.response().onSuccess(head -> {
        head.exceptionHandler(expected -> { });
        req.reset();
      });
    }).transform(ar -> Future.succeededFuture());
  }

  private Future<Void> resetByOrigin(HttpClientAgent client, HostAndPort authority) {
    return client.request(HttpMethod.GET, "/reset").compose(req -> {
      req.authority(authority);
      return req.send().compose(HttpClientResponse::body);
    }).transform(ar -> Future.succeededFuture());
  }
}
