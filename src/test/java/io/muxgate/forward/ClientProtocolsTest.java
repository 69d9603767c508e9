package io.muxgate.forward;

import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpMethod;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Every front-end protocol reaches the origin and gets its response back, method, path and body intact. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClientProtocolsTest {

  @RegisterExtension
  final TestScope scope = new TestScope();
  private ProxyHarness proxy;

  @BeforeAll
  void start() {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(request -> request.body().onSuccess(body ->
      request.response()
        .putHeader("content-type", "text/plain")
        .putHeader("x-origin-saw", request.method() + " " + request.uri())
        .end("origin got " + body.length() + " bytes")));
    proxy = scope.startProxy("site", origin.url(), null);
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ClientKind.class)
  void clientGetsTheOriginResponseOverEachProtocol(ClientKind kind) {
    HttpClientAgent client = scope.client(kind, proxy);

    Exchange get = Await.result(Exchange.get(client, "site.test", "/page?q=1&r=%20"));
    assertEquals(200, get.status(), get.body());
    assertEquals(kind.version(), get.version(), "protocol between client and proxy");
    assertEquals("GET /page?q=1&r=%20", get.header("x-origin-saw"));
    assertEquals("origin got 0 bytes", get.body());

    Exchange post = Await.result(Exchange.send(client, HttpMethod.POST, "site.test", "/form", req -> {
    }, Buffer.buffer("a".repeat(10_000))));
    assertEquals(200, post.status(), post.body());
    assertEquals("POST /form", post.header("x-origin-saw"));
    assertEquals("origin got 10000 bytes", post.body());
  }
}
