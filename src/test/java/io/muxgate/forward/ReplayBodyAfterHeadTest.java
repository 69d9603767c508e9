package io.muxgate.forward;

import io.muxgate.support.Await;
import io.muxgate.support.MuxgateProcess;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.HostAndPort;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The request body kept for a replay counts in the process's budget of upload bytes, of which such copies
 * may take half. Once the origin's response head has arrived no replay can happen, so the copy goes then,
 * not when the exchange ends: long uploads the origin answered at once (a gRPC client stream, a long
 * upload answered with a progress stream) used to keep theirs for their whole life, and eight of them
 * took the half, so that a request the origin refused could not be replayed but was answered 520.
 */
class ReplayBodyAfterHeadTest {

  private static final int MiB = 1024 * 1024;
  /** Muxgate's heap: a quarter of it, 16 MiB, is the upload budget, 8 MiB of it for bodies kept for replays. */
  private static final List<String> JVM_FLAGS = List.of("-Xmx64m", "-XX:+ExitOnOutOfMemoryError",
    "-Dmuxgate.frame_streams=" + System.getProperty("muxgate.frame_streams", "true"),
    "-Dmuxgate.front_streams=" + System.getProperty("muxgate.front_streams", "true"));
  /** Uploads of a replay body's full 1 MiB each, one more than the copies half the budget holds. */
  private static final int ANSWERED_UPLOADS = 9;
  private static final HostAndPort SITE = HostAndPort.create("site.test", -1);

  @RegisterExtension
  final TestScope scope = new TestScope();

  private final AtomicLong answeredBytesRead = new AtomicLong();
  private final AtomicInteger refusedAttempts = new AtomicInteger();

  @Test
  void uploadsAnsweredBeforeTheirBodyEndsKeepNoReplayCopyFromARefusedRequest() throws Exception {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(this::serve);
    MuxgateProcess muxgate = scope.track(MuxgateProcess.start(JVM_FLAGS, new JsonObject(),
      Map.of("site.json", ProxyHarness.zone("site", "site.test", List.of(origin.url()), null))));
    HttpClientAgent client = scope.vertx().createHttpClient(new HttpClientOptions()
      .setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false));
    scope.track(() -> Await.result(client.close()));

    // One at a time, each whole at the origin before the next: without the release their copies fill the
    // half of the budget exactly, the one that does not fit dropping only its own.
    List<HttpClientRequest> uploads = new ArrayList<>();
    for (int i = 0; i < ANSWERED_UPLOADS; i++) {
      HttpClientRequest upload = Await.result(client.request(post(muxgate, "/answered")));
      upload.authority(SITE).setChunked(true); // over HTTP/2: a body of no announced length
      Future<HttpClientResponse> head = upload.response();
      upload.write(Buffer.buffer(new byte[MiB]));
      assertEquals(200, Await.result(head).statusCode(), "head of upload " + i);
      long expected = (i + 1L) * MiB;
      Await.until(() -> answeredBytesRead.get() == expected, "upload " + i + " read whole by the origin");
      uploads.add(upload);
    }

    // Refused once its whole 1 MiB body is in: sent again only if the proxy could keep that body.
    Future<String> refused = client.request(post(muxgate, "/refused")).compose(request -> {
      request.authority(SITE);
      return request.send(Buffer.buffer(new byte[MiB]))
        .compose(response -> response.body().map(body -> response.statusCode() + " " + body + " "
          + response.getHeader("muxgate-error")));
    });
    assertEquals("200 " + MiB + " null", Await.result(refused, 60), "the refused request, replayed");
    assertEquals(2, refusedAttempts.get(), "attempts of the refused request");

    for (HttpClientRequest upload : uploads) {
      upload.end();
    }
  }

  private static RequestOptions post(MuxgateProcess muxgate, String path) {
    return new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1").setPort(muxgate.httpPort())
      .setURI(path);
  }

  /**
   * {@code /answered}: the response head at once, the body read as it comes, the end when it ends;
   * {@code /refused}: refused (REFUSED_STREAM) the first time once the body is whole, then answered with
   * the body's length.
   */
  private void serve(HttpServerRequest request) {
    if (request.path().equals("/answered")) {
      request.response().writeHead();
      request.handler(chunk -> answeredBytesRead.addAndGet(chunk.length()));
      request.endHandler(v -> request.response().end());
    } else if (refusedAttempts.incrementAndGet() == 1) {
      request.endHandler(v -> request.response().reset(7));
    } else {
      request.body().onSuccess(body -> request.response().end(Integer.toString(body.length())));
    }
  }
}
