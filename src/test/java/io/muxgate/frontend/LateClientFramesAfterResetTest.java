package io.muxgate.frontend;

import io.muxgate.support.ProxyHarness;
import io.muxgate.support.RawFrameClient;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An HTTP/2 client uploading when the proxy cuts its response (here a 413 once the origin's head is out,
 * as in a gRPC stream) has up to a stream window of DATA in flight when the reset reaches it; RFC 9113
 * section 5.1 has the proxy ignore it. Netty answered each such frame with an RST_STREAM(STREAM_CLOSED),
 * and Vert.x's server allows 200 resets sent in 30 s: four uploads cut that way ended the connection with
 * GOAWAY(ENHANCE_YOUR_CALM), and the request beside them with it.
 */
class LateClientFramesAfterResetTest {

  private static final int LIMIT = 1000;
  private static final int UPLOADS = 4;
  /** What a client had in flight after the first {@link #FIRST_BYTES}: the rest of a 1 MiB stream window. */
  private static final int LATE_FRAMES = 63;
  private static final int FRAME_BYTES = 16 * 1024;
  private static final int FIRST_BYTES = 2 * LIMIT;
  private static final long SECONDS = 60;

  @RegisterExtension
  final TestScope scope = new TestScope();

  @Test
  void dataInFlightWhenAnUploadIsCutIsIgnoredAndTheConnectionServesOn() throws InterruptedException {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(req -> {
      if (req.method() == HttpMethod.GET) {
        req.response().end("beside");
      } else {
        // The head at once, then the body is read as it comes: the proxy's 413 can only cut the response.
        req.response().setChunked(true).write("going");
        req.handler(chunk -> { });
      }
    });
    ProxyHarness proxy = scope.startProxy("z", origin.url(), new JsonObject().put("max_request_body_bytes", LIMIT));
    RawFrameClient client = RawFrameClient.connect(scope, scope.nettyGroup(), proxy.httpPort());
    int beside = 2 * UPLOADS + 1;
    // Each upload sends past the limit once its response head is read; on the reset it writes the rest of
    // its window, as if sent before the reset arrived, and opens the next upload, or the request beside.
    client.onHeaders(id -> {
      if (id < beside) {
        client.writeData(id, FIRST_BYTES, false);
        client.flush();
      }
    });
    Set<Integer> cut = new HashSet<>(); // on the client's loop only
    client.onReset(id -> {
      if (!cut.add(id)) {
        return; // a reset answering its late frames
      }
      for (int i = 0; i < LATE_FRAMES; i++) {
        client.writeData(id, FRAME_BYTES, false);
      }
      if (id + 2 < beside) {
        client.writeHeaders(id + 2, head("POST", "/upload"), false);
      } else if (id + 2 == beside) {
        client.writeHeaders(beside, head("GET", "/beside"), true);
      }
      client.flush();
    });
    client.headers(1, head("POST", "/upload"), false);

    String besideData = "DATA " + beside + " ";
    List<String> frames = new ArrayList<>();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(SECONDS);
    while (frames.stream().noneMatch(f -> f.startsWith(besideData) && f.endsWith(" end"))
      && System.nanoTime() < deadline) {
      String frame = client.next();
      if (frame != null) {
        frames.add(frame);
      } else if (client.closeFuture().isDone()) {
        break;
      }
    }

    List<String> resets = frames.stream().filter(f -> f.startsWith("RST_STREAM ")).toList();
    String seen = resets.size() + " RST_STREAM, then " + frames.stream()
      .filter(f -> f.startsWith("GOAWAY") || f.contains(" " + beside + " ")).toList();
    List<String> cuts = new ArrayList<>();
    for (int id = 1; id < beside; id += 2) {
      cuts.add("RST_STREAM " + id + " " + Http2Error.INTERNAL_ERROR.code());
    }
    assertEquals(UPLOADS, resets.size(), "RST_STREAM frames: each upload's cut, and none for the " + LATE_FRAMES
      + " DATA frames that crossed each: " + seen);
    assertEquals(cuts, resets);
    assertTrue(frames.stream().noneMatch(f -> f.startsWith("GOAWAY")), seen);
    assertTrue(frames.contains("HEADERS " + beside + " 200"), "the request beside is answered: " + seen);
    assertEquals("beside".length(), frames.stream().filter(f -> f.startsWith(besideData))
      .mapToInt(f -> Integer.parseInt(f.split(" ")[2])).sum(), "with its whole body: " + seen);
  }

  private static Http2Headers head(String method, String path) {
    return new DefaultHttp2Headers().method(method).path(path).scheme("http").authority("z.test");
  }
}
