package io.muxgate.forward;

import io.muxgate.support.Await;
import io.muxgate.support.GeneratedBody;
import io.muxgate.support.MuxgateProcess;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.RawFrameClient;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.vertx.core.Future;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.HostAndPort;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * HTTP/2 clients upload to an origin that takes nothing of their bodies: the proxy holds what they send
 * within the windows it gave them, one stream at most its 1 MiB window, one connection its 16 MiB, and all of
 * them together no more than a quarter of the heap, where those bytes are copied. Unbounded, some 20 such
 * connections ran a 256 MB heap out, and the process died for every zone.
 */
class HeldUploadBytesTest {

  private static final int MiB = 1024 * 1024;
  /** Muxgate's heap in these tests, a quarter of it, 16 MiB, the budget. */
  private static final List<String> JVM_FLAGS = List.of("-Xmx64m", "-XX:+ExitOnOutOfMemoryError",
    "-Dmuxgate.frame_streams=" + System.getProperty("muxgate.frame_streams", "true"),
    "-Dmuxgate.front_streams=" + System.getProperty("muxgate.front_streams", "true"));
  private static final long BUDGET = 16 * MiB;
  /** The windows the front end gives a client stream and a client connection. */
  private static final int STREAM_WINDOW = MiB;
  private static final int CONNECTION_WINDOW = 16 * MiB;
  /** Connections whose windows add up to three times the budget. */
  private static final int CLIENTS = 3;
  private static final int STREAMS_PER_CLIENT = 24;
  /**
   * Per stream, beside the budget: what went on toward the origin without being kept for a replay once the
   * budget was full, up to the origin's 64 KiB stream window, and the frame past it.
   */
  private static final long STREAM_SLACK = 80 * 1024;
  private static final int FRAME = 16 * 1024;
  private static final HostAndPort SITE = HostAndPort.create("site.test", -1);

  @RegisterExtension
  final TestScope scope = new TestScope();

  /**
   * Muxgate's own client streams only: with {@code -Dmuxgate.front_streams=false} Vert.x's server keeps what
   * a paused request's client sends in a queue of its own, which the budget never sees (one stream window
   * each at most, the connection window in all).
   */
  @Test
  void uploadsToAnOriginThatReadsNothingHoldNoMoreThanTheBudgetAndItFreesWhenTheirClientsGo() throws Exception {
    uploadsToAnOriginThatReadsNothing(false);
  }

  /**
   * The same with {@code expect: 100-continue}, whose clients may send their body without waiting for the 100
   * (RFC 9110, section 10.1.1): such streams used to be Vert.x's server's, whose queue the budget never saw.
   */
  @Test
  void uploadsThatExpectContinueHoldNoMoreThanTheBudget() throws Exception {
    uploadsToAnOriginThatReadsNothing(true);
  }

  private void uploadsToAnOriginThatReadsNothing(boolean expectContinue) throws Exception {
    assumeFalse("false".equals(System.getProperty("muxgate.front_streams")), "Vert.x's client streams");
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(this::serve);
    MuxgateProcess muxgate = scope.track(MuxgateProcess.start(JVM_FLAGS, new JsonObject(),
      Map.of("site.json", ProxyHarness.zone("site", "site.test", List.of(origin.url()), null))));

    for (int round = 0; round < 2; round++) {
      List<Uploader> uploaders = new ArrayList<>();
      for (int c = 0; c < CLIENTS; c++) {
        uploaders.add(new Uploader(RawFrameClient.connect(scope, scope.nettyGroup(), muxgate.httpPort()),
          expectContinue));
      }
      Await.until(() -> uploaders.stream().allMatch(Uploader::stopped),
        "every upload answered or out of window");
      Await.until(() -> held(uploaders) <= BUDGET + CLIENTS * STREAMS_PER_CLIENT * STREAM_SLACK,
        "the bytes held for uploads the origin does not take within the budget");
      assertTrue(muxgate.process().isAlive(), "muxgate is alive");
      // The budget is the process's: freed with the streams, the next round holds as much again.
      assertTrue(held(uploaders) >= BUDGET / 2, "bytes held in round " + round + ": " + held(uploaders));
      for (Uploader uploader : uploaders) {
        uploader.client.closeFuture().channel().close().syncUninterruptibly();
      }
      // The proxy lets a stream's bytes go as it ends it, before its access-log line: the next round must
      // not start before, or it meets a budget still full and every upload is answered 503 at once.
      long ended = (round + 1L) * CLIENTS * STREAMS_PER_CLIENT;
      Await.until(() -> muxgate.stdout.stream().filter(l -> l.contains("\"/stall\"")).count() == ended,
        "every stream of round " + round + " ended");
    }
    Await.until(() -> muxgate.stdout.stream().anyMatch(l -> l.contains("\"upload_buffer_full\"")),
      "an upload past the budget answered and logged as upload_buffer_full");
    muxgate.stdout.stream().filter(l -> l.contains("\"upload_buffer_full\"")).map(JsonObject::new)
      .forEach(line -> assertEquals(503, line.getInteger("status"), line.encode()));
    assertEquals(3 * BUDGET, upload(muxgate, 3 * BUDGET), "bytes of an upload the origin reads");
  }

  @Test
  void uploadsLargerThanTheBudgetReachAnOriginThatReadsWhole() throws Exception {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(this::serve);
    MuxgateProcess muxgate = scope.track(MuxgateProcess.start(JVM_FLAGS, new JsonObject(),
      Map.of("site.json", ProxyHarness.zone("site", "site.test", List.of(origin.url()), null))));
    for (int i = 0; i < 3; i++) {
      assertEquals(2 * BUDGET, upload(muxgate, 2 * BUDGET), "bytes of upload " + i);
    }
  }

  private static long held(List<Uploader> uploaders) {
    return uploaders.stream().mapToLong(Uploader::held).sum();
  }

  /** {@code /stall}: the body is never read; {@code /read}: answered with the body's digest once whole. */
  private void serve(HttpServerRequest request) {
    if (request.path().equals("/stall")) {
      request.pause();
      return;
    }
    GeneratedBody.digest(request).onSuccess(d -> request.response().end(d.bytes() + " " + d.sha256()));
  }

  /** Uploads {@code size} generated bytes; the origin's count of them, once it checked their digest. */
  private long upload(MuxgateProcess muxgate, long size) {
    HttpClientAgent client = scope.vertx().createHttpClient(new HttpClientOptions()
      .setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false));
    scope.track(() -> Await.result(client.close()));
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1")
      .setPort(muxgate.httpPort()).setURI("/read");
    Future<String> answer = client.request(options).compose(req -> {
      req.authority(SITE).putHeader("content-length", Long.toString(size));
      Future<GeneratedBody.Digest> sent = GeneratedBody.write(req, size, 11);
      sent.onSuccess(d -> req.end());
      return req.response().compose(resp -> resp.body()).compose(body -> sent.map(d -> {
        String[] read = body.toString().split(" ");
        assertEquals(d.sha256(), read[1], "digest of the body the origin read");
        return read[0];
      }));
    });
    return Long.parseLong(Await.result(answer, 60));
  }

  /**
   * One HTTP/2 connection uploading on {@link #STREAMS_PER_CLIENT} streams all the proxy's windows let it,
   * a stream until it is answered; its state lives on the connection's event loop.
   */
  private static final class Uploader {

    private final RawFrameClient client;
    private long connectionWindow = 65_535;
    private final Map<Integer, Long> windows = new HashMap<>();
    private final Map<Integer, Long> sent = new HashMap<>();
    private final Set<Integer> answered = new HashSet<>();
    /** A WINDOW_UPDATE came: the proxy's SETTINGS, sent before it, are read and acknowledged. */
    private boolean windowSeen;

    /** {@code expectContinue}: each stream asks for a 100 (Continue), and sends its body without waiting for it. */
    Uploader(RawFrameClient client, boolean expectContinue) {
      this.client = client;
      client.onHeaders(this::answered);
      client.onReset(this::answered);
      // The proxy's SETTINGS (its streams' windows) come before its first WINDOW_UPDATE, which starts the upload.
      client.onWindowUpdate((id, increment) -> {
        windowSeen = true;
        if (id == 0) {
          connectionWindow += increment;
        } else {
          windows.merge(id, (long) increment, Long::sum);
        }
        pump();
      });
      client.onLoop(() -> {
        for (int i = 0; i < STREAMS_PER_CLIENT; i++) {
          int id = 2 * i + 1;
          windows.put(id, (long) STREAM_WINDOW);
          sent.put(id, 0L);
          Http2Headers head = new DefaultHttp2Headers().method("POST").scheme("http").path("/stall")
            .authority("site.test");
          if (expectContinue) {
            head.add("expect", "100-continue");
          }
          client.writeHeaders(id, head, false);
        }
        if (windowSeen) {
          pump();
        } else {
          client.flush();
        }
      });
    }

    private void answered(int id) {
      if (answered.add(id)) {
        client.writeData(id, 0, true);
        client.flush();
      }
    }

    private void pump() {
      for (Map.Entry<Integer, Long> stream : windows.entrySet()) {
        int id = stream.getKey();
        while (!answered.contains(id) && stream.getValue() > 0 && connectionWindow > 0) {
          int bytes = (int) Math.min(FRAME, Math.min(stream.getValue(), connectionWindow));
          client.writeData(id, bytes, false);
          stream.setValue(stream.getValue() - bytes);
          connectionWindow -= bytes;
          sent.merge(id, (long) bytes, Long::sum);
        }
      }
      client.flush();
    }

    /** Every stream is answered or has no window left to send in. */
    boolean stopped() {
      boolean[] stopped = new boolean[1];
      client.onLoop(() -> stopped[0] = !client.closeFuture().isDone() && (connectionWindow == 0
        || windows.entrySet().stream().allMatch(s -> answered.contains(s.getKey()) || s.getValue() == 0)));
      return stopped[0];
    }

    /** What was sent on streams not answered: what the proxy holds, or the origin, which reads nothing. */
    long held() {
      long[] held = new long[1];
      client.onLoop(() -> held[0] = sent.entrySet().stream().filter(s -> !answered.contains(s.getKey()))
        .mapToLong(Map.Entry::getValue).sum());
      return held[0];
    }
  }
}
