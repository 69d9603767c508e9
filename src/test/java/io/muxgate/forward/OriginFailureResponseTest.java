package io.muxgate.forward;

import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.netty.handler.codec.http2.Http2Error;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;
import java.util.Map;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * An origin that fails before sending response headers gets the client a complete error response
 * (520 for a reset, 524 for silence past proxy_read_timeout), also when the request body was already
 * fully read and even though the proxy resets the origin stream on its way out.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OriginFailureResponseTest {

  @RegisterExtension
  final TestScope scope = new TestScope();
  private ProxyHarness proxy;

  @BeforeAll
  void start() {
    TestOrigin resetting = scope.startOrigin(TestOrigin.Mode.H2C).handler(request ->
      request.body().onSuccess(body -> request.response().reset(Http2Error.INTERNAL_ERROR.code())));
    TestOrigin silent = scope.startOrigin(TestOrigin.Mode.H2C).handler(request -> request.body());
    proxy = scope.startProxy(Map.of(
      "reset.json", zone("reset", "reset.test", List.of(resetting.url()), null),
      "silent.json", zone("silent", "silent.test", List.of(silent.url()),
        new JsonObject().put("proxy_read_timeout", 1))));
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(value = ClientKind.class, names = {"H2C", "HTTP1"})
  void originResetBeforeResponseHeadersGives520(ClientKind kind) {
    HttpClientAgent client = scope.client(kind, proxy);
    assertError(520, Await.result(Exchange.get(client, "reset.test", "/")));
    assertError(520, Await.result(Exchange.send(client, HttpMethod.POST, "reset.test", "/", req -> {
    }, Buffer.buffer("complete body"))));
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(value = ClientKind.class, names = {"H2C", "HTTP1"})
  void noResponseHeadersWithinReadTimeoutGives524(ClientKind kind) {
    HttpClientAgent client = scope.client(kind, proxy);
    assertError(524, Await.result(Exchange.send(client, HttpMethod.POST, "silent.test", "/", req -> {
    }, Buffer.buffer("complete body"))));
  }

  private static void assertError(int status, Exchange exchange) {
    assertEquals(status, exchange.status(), exchange.body());
    assertEquals("error code: " + status, exchange.body());
  }
}
