package io.muxgate.origin;

import io.muxgate.support.Await;
import io.muxgate.support.MuxgateProcess;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.RawHttp;
import io.muxgate.support.TestScope;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An {@code http://} origin that answers the h2c Upgrade preflight with a response no HTTP/1.1 parser
 * takes (bare LF line ends) gets a 520 per request, each logged; Vert.x's own SEVERE line about the
 * connection, one per request too, is written once, not as a flood of stderr.
 */
class InvalidUpgradeAnswerLogTest {

  private static final int REQUESTS = 5;

  @RegisterExtension
  final TestScope scope = new TestScope();

  @Test
  void vertxsLineAboutEachInvalidAnswerIsWrittenOnce() throws IOException, InterruptedException {
    NetServer origin = Await.result(scope.vertx().createNetServer()
      .connectHandler(socket -> socket.handler(head -> socket.write("HTTP/1.1 200 OK\ncontent-length: 2\n\nok")))
      .listen(0, "127.0.0.1"));
    MuxgateProcess muxgate = scope.track(MuxgateProcess.start(new JsonObject(), Map.of("z.json",
      ProxyHarness.zone("z", "z.test", List.of("http://127.0.0.1:" + origin.actualPort()), null))));

    for (int i = 0; i < REQUESTS; i++) {
      String answer = RawHttp.exchange(muxgate.httpPort(), "GET /r" + i + " HTTP/1.1\r\nHost: z.test\r\n"
        + "Connection: close\r\n\r\n");
      assertTrue(answer.startsWith("HTTP/1.1 520 "), answer);
    }
    for (int i = 0; i < REQUESTS; i++) {
      String line = muxgate.stdout.poll(10, TimeUnit.SECONDS);
      assertTrue(line != null && line.contains("\"status\":520"), "access log line " + i + ": " + line);
    }
    muxgate.awaitStderr("ConnectionBase");
    List<String> stderr = new ArrayList<>(muxgate.stderr);
    assertEquals(1, stderr.stream().filter(line -> line.contains("ConnectionBase")).count(), String.join("\n", stderr));
  }
}
