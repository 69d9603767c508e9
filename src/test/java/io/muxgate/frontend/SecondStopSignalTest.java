package io.muxgate.frontend;

import io.muxgate.support.Await;
import io.muxgate.support.MuxgateProcess;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.Future;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.HostAndPort;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A second SIGTERM while the drain waits for a request stops the process at once, as a second Ctrl-C
 * stops uvicorn: the request is cut (and logged as such), the access log written out, and the exit status
 * says the stop was not clean.
 */
class SecondStopSignalTest {

  private static final int DRAIN_TIMEOUT_S = 120;

  @RegisterExtension
  final TestScope scope = new TestScope();

  @Test
  void aSecondSigtermDuringTheDrainStopsAtOnce() throws Exception {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).park();
    MuxgateProcess muxgate = scope.track(MuxgateProcess.start(new JsonObject().put("drain_timeout_s", DRAIN_TIMEOUT_S),
      Map.of("z.json", zone("z", "z.test", List.of(origin.url()), null))));
    CompletableFuture<String> answer = CompletableFuture.supplyAsync(() -> get(muxgate.httpPort(), "/slow"));
    origin.awaitInFlight(1);
    // and one on an HTTP/2 connection, which Vert.x's close would leave open until its streams end
    HttpClientAgent h2c = scope.vertx().createHttpClient(new HttpClientOptions().setDefaultHost("127.0.0.1")
      .setDefaultPort(muxgate.httpPort()).setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false));
    Future<HttpClientResponse> h2Answer = h2c.request(HttpMethod.GET, "/slow-h2").compose(req -> {
      req.authority(HostAndPort.create("z.test", -1));
      return req.send();
    });
    origin.awaitInFlight(2);

    muxgate.terminate();
    muxgate.awaitStderr("stopping: 2 request(s) in flight get up to " + DRAIN_TIMEOUT_S + " s");
    long secondSignal = System.nanoTime();
    muxgate.terminate();

    assertTrue(muxgate.process().waitFor(20, TimeUnit.SECONDS), "still draining: " + muxgate.stderr);
    double seconds = (System.nanoTime() - secondSignal) / 1e9;
    assertTrue(seconds < 10, "took " + seconds + " s");
    assertEquals(143, muxgate.process().exitValue(), "128 + SIGTERM: not a clean stop");
    muxgate.awaitStderr("second SIGTERM during the drain: stopping now, cutting 2 request(s) in flight");
    muxgate.awaitStderr("stopped at once, exit status 143");

    Set<String> logged = new HashSet<>();
    for (int i = 0; i < 2; i++) {
      String line = muxgate.stdout.poll(10, TimeUnit.SECONDS);
      assertNotNull(line, "the cut requests' access-log lines, got " + logged + "; stderr: " + muxgate.stderr);
      JsonObject cut = new JsonObject(line);
      assertEquals(503, cut.getInteger("status"), line);
      logged.add(cut.getString("path"));
    }
    assertEquals(Set.of("/slow", "/slow-h2"), logged);
    assertEquals("", answer.get(10, TimeUnit.SECONDS), "the client's connection closed without a response");
    boolean cutOff = Await.result(h2Answer.transform(ar -> Future.succeededFuture(ar.failed())));
    assertTrue(cutOff, "the HTTP/2 request was cut, not answered");
  }

  /** A GET over a plain socket; what came back before the proxy closed the connection. */
  private static String get(int port, String path) {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(60_000);
      socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: z.test\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII));
      return new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
    } catch (IOException e) {
      return "";
    }
  }
}
