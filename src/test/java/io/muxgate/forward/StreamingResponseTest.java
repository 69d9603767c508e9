package io.muxgate.forward;

import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.net.HostAndPort;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * An origin that sends its response head and then waits before the body (server-sent events, long
 * poll): the client gets the status and headers at once, not with the first body chunk.
 */
class StreamingResponseTest {

  @RegisterExtension
  final TestScope scope = new TestScope();

  @ParameterizedTest(name = "{0}")
  @EnumSource(value = ClientKind.class, names = {"HTTP1", "H2C", "H2_TLS"})
  void responseHeadReachesTheClientBeforeTheOriginSendsAnyBody(ClientKind kind) {
    Promise<Void> bodyAllowed = Promise.promise();
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(request -> {
      request.response().setChunked(true).putHeader("content-type", "text/event-stream").writeHead();
      bodyAllowed.future().onComplete(v -> request.response().end("data: first\n\n"));
    });
    ProxyHarness proxy = scope.startProxy("z", origin.url(), null);
    HttpClientAgent client = scope.client(kind, proxy);

    HttpClientRequest get = Await.result(client.request(HttpMethod.GET, "/events"));
    get.authority(HostAndPort.create("z.test", -1));
    HttpClientResponse head = Await.result(get.send(), 10);

    assertEquals(200, head.statusCode());
    assertEquals("text/event-stream", head.getHeader("content-type"));
    // Ask for the body before it may come: this thread is not the client's, and a body that arrived
    // before body() was called would be dropped by Vert.x's client, failing the test on its own race.
    Future<Buffer> body = head.body();
    bodyAllowed.complete();
    assertEquals("data: first\n\n", Await.result(body, 10).toString());
  }
}
