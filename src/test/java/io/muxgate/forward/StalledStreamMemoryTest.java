package io.muxgate.forward;

import io.muxgate.support.Await;
import io.muxgate.support.MuxgateProcess;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.HostAndPort;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A client that reads nothing holds back its own response only, and in memory the size of what it holds:
 * small DATA frames (server-sent events) for such a client, each read from the origin between the large
 * frames of another stream on the same connection, do not keep those whole reads alive. Kept as slices,
 * 2,500 events of 100 bytes held some 64 KiB each, ran a proxy with 32 MiB of direct memory out of it and
 * cut the other stream, with everything else on that origin connection.
 */
class StalledStreamMemoryTest {

  private static final int EVENTS = 2_500;
  private static final int EVENT_BYTES = 100;
  private static final int BULK_CHUNK_BYTES = 32 * 1024;
  private static final HostAndPort SITE = HostAndPort.create("site.test", -1);

  @RegisterExtension
  final TestScope scope = new TestScope();

  @Test
  void smallFramesForAStalledClientDoNotKeepTheReadsTheyCameIn() throws Exception {
    Promise<HttpServerResponse> events = Promise.promise();
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(request -> {
      HttpServerResponse response = request.response().setChunked(true);
      if (request.path().equals("/events")) {
        response.writeHead().onSuccess(v -> events.complete(response));
      } else {
        events.future().onSuccess(stalled -> interleave(stalled, response, 0));
      }
    });
    MuxgateProcess muxgate = scope.track(MuxgateProcess.start(List.of("-XX:MaxDirectMemorySize=32m"),
      new JsonObject(), Map.of("site.json", ProxyHarness.zone("site", "site.test", List.of(origin.url()), null))));
    HttpClientAgent stalledClient = h2cClient();
    HttpClientAgent bulkClient = h2cClient();

    AtomicLong eventBytes = new AtomicLong();
    Promise<Void> eventsEnded = Promise.promise();
    HttpClientResponse stalled = Await.result(stalledClient.request(options(muxgate, "/events"))
      .compose(req -> req.authority(SITE).send()).onSuccess(resp -> {
        resp.pause();
        resp.handler(chunk -> eventBytes.addAndGet(chunk.length()));
        resp.exceptionHandler(eventsEnded::tryFail);
        resp.endHandler(eventsEnded::tryComplete);
      }));
    Buffer bulk = Await.result(bulkClient.request(options(muxgate, "/bulk"))
      .compose(req -> req.authority(SITE).send()).compose(HttpClientResponse::body), 60);
    assertEquals((long) EVENTS * BULK_CHUNK_BYTES, bulk.length(), "the other stream on the origin connection");

    stalled.resume();
    Await.result(eventsEnded.future(), 30);
    assertEquals((long) EVENTS * EVENT_BYTES, eventBytes.get(), "the stalled client's events, once it reads");
  }

  /** One event for the stalled stream, then a large chunk for the other, each pair in a write of its own. */
  private static void interleave(HttpServerResponse stalled, HttpServerResponse bulk, int sent) {
    if (sent == EVENTS) {
      stalled.end();
      bulk.end();
      return;
    }
    stalled.write(Buffer.buffer(new byte[EVENT_BYTES]));
    bulk.write(Buffer.buffer(new byte[BULK_CHUNK_BYTES])).onSuccess(v -> interleave(stalled, bulk, sent + 1));
  }

  private HttpClientAgent h2cClient() {
    HttpClientAgent client = scope.vertx().createHttpClient(new HttpClientOptions()
      .setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false));
    scope.track(() -> Await.result(client.close()));
    return client;
  }

  private static RequestOptions options(MuxgateProcess muxgate, String path) {
    return new RequestOptions().setMethod(HttpMethod.GET).setHost("127.0.0.1").setPort(muxgate.httpPort())
      .setURI(path);
  }
}
