package io.muxgate.forward;

import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.net.HostAndPort;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A request head reaches the origin as soon as the proxy has it, not with the body's first byte: a client
 * that waits for the origin's response head before it sends its body (a gRPC stream where the server
 * speaks first, a long poll that uploads on cue) gets that head, then its body through.
 */
class HeadBeforeBodyTest {

  @RegisterExtension
  final TestScope scope = new TestScope();

  /** Not h2c by Upgrade: its first request is an HTTP/1.1 one whose body goes whole before the 101. */
  static Stream<Arguments> clientsAndOrigins() {
    return Stream.of(ClientKind.HTTP1, ClientKind.H2_TLS, ClientKind.H2C).flatMap(kind ->
      Stream.of(TestOrigin.Mode.H2C, TestOrigin.Mode.H1).map(mode -> Arguments.of(kind, mode)));
  }

  @ParameterizedTest(name = "{0} to {1}")
  @MethodSource("clientsAndOrigins")
  void theOriginAnswersTheHeadBeforeAnyBodyIsSent(ClientKind kind, TestOrigin.Mode mode) {
    TestOrigin origin = scope.startOrigin(mode).handler(request -> {
      HttpServerResponse response = request.response().setChunked(true);
      response.writeHead();
      request.body().onSuccess(body -> response.end("got " + body));
    });
    ProxyHarness proxy = scope.startProxy("z", origin.url(), null);
    HttpClientAgent client = scope.client(kind, proxy);

    HttpClientRequest request = Await.result(client.request(HttpMethod.POST, "/stream"));
    request.authority(HostAndPort.create("z.test", -1)).setChunked(true);
    Await.result(request.sendHead());
    HttpClientResponse response = Await.result(request.response());

    assertEquals(200, response.statusCode(), "the response head came before any body was sent");
    // Asked for before the body goes: Vert.x drops response data that comes before anyone asks for it, and
    // the whole answer can be back before this thread runs again.
    Future<Buffer> body = response.body();
    request.end(Buffer.buffer("late body"));
    assertEquals("got late body", Await.result(body).toString());
  }
}
