package io.muxgate.origin;

import io.muxgate.support.Await;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;
import java.util.Map;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * An HTTP/1.1 origin that says how long it keeps an idle connection ({@code Keep-Alive: timeout=N}, as
 * Node and Apache do) gets no request on one idle that long, less a margin: a request sent as the
 * origin closes the connection is lost, and a POST cannot be sent again. The proxy closes it first.
 */
class OriginKeepAliveTimeoutTest {

  @RegisterExtension
  final TestScope scope = new TestScope();

  @Test
  void aConnectionIdlePastTheOriginsAnnouncedTimeoutIsClosedAndNotReused() {
    // The origin announces 1 s but never closes by itself, so whoever closes the connection is the proxy.
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H1).handler(request -> request.body().onSuccess(body ->
      request.response().putHeader("keep-alive", "timeout=1").end("got " + body.length())));
    ProxyHarness proxy = scope.startProxy(Map.of("z.json", zone("z", "z.test", List.of(origin.url()),
      new JsonObject().put("origin_max_http_version", "1"))));
    HttpClientAgent client = proxy.h2cClient();

    assertEquals(200, Await.result(Exchange.get(client, "z.test", "/first")).status());
    assertEquals(1, origin.connectionsAccepted());
    Await.until(() -> origin.openConnections() == 0, 5_000, "the proxy to close the connection idle for 1 s");

    Exchange post = Await.result(Exchange.send(client, HttpMethod.POST, "z.test", "/pay", req -> { }, Buffer.buffer("x")));
    assertEquals(200, post.status());
    assertEquals("got 1", post.body());
    assertEquals(2, origin.connectionsAccepted(), "the POST went on a new connection");
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
    "timeout=5            | 5",
    "timeout=5, max=100   | 5",
    "max=100, Timeout=30  | 30",
    "max=100              | -1",
    "timeout=soon         | -1",
    "timeout=-3           | 0"})
  void theTimeoutParameterIsRead(String header, int seconds) {
    assertEquals(seconds, ClosingResponses.timeoutSeconds(header));
  }
}
