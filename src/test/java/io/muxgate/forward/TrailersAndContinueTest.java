package io.muxgate.forward;

import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.HostAndPort;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * gRPC-style exchanges (streamed request of unknown length, streamed response, status in trailers)
 * carried end to end, and {@code expect: 100-continue} answered by the origin, not the proxy.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TrailersAndContinueTest {

  private static final int MESSAGES = 3;

  @RegisterExtension
  final TestScope scope = new TestScope();
  private ProxyHarness proxy;

  @BeforeAll
  void start() {
    TestOrigin h2cOrigin = scope.startOrigin(TestOrigin.Mode.H2C).handler(this::serve);
    TestOrigin h1Origin = scope.startOrigin(TestOrigin.Mode.H1).handler(this::serve);
    proxy = scope.startProxy(Map.of(
      "grpc.json", zone("grpc", "grpc.test", List.of(h2cOrigin.url()), null),
      "h1.json", zone("h1", "h1.test", List.of(h1Origin.url()), new JsonObject().put("origin_max_http_version", "1"))));
  }

  private void serve(HttpServerRequest request) {
    if (request.path().equals("/continue")) {
      answerAfterContinue(request);
    } else if (request.path().equals("/sized")) {
      answerSizedWithTrailers(request);
    } else {
      answerLikeGrpc(request);
    }
  }

  /** Counts the request's messages, streams one reply per message, then grpc-status in trailers. */
  private void answerLikeGrpc(HttpServerRequest request) {
    request.body().onSuccess(body -> {
      String te = String.valueOf(request.getHeader("te"));
      request.response()
        .putHeader("content-type", "application/grpc")
        .setChunked(true);
      for (String message : body.toString().split(";")) {
        request.response().write("reply to " + message + ";");
      }
      request.response().trailers()
        .add("grpc-status", "0")
        .add("grpc-message", "te was " + te);
      request.response().end();
    });
  }

  /** A body of declared length in two chunks, then a trailer. */
  private void answerSizedWithTrailers(HttpServerRequest request) {
    request.response().putHeader("content-length", "10").write("01234");
    request.response().write("56789");
    request.response().trailers().add("x-checksum", "sum");
    request.response().end();
  }

  private void answerAfterContinue(HttpServerRequest request) {
    String expect = String.valueOf(request.getHeader("expect"));
    request.response().writeContinue();
    request.body().onSuccess(body -> request.response().end("expect " + expect + ", read " + body));
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(value = ClientKind.class, names = {"H2C", "H2_TLS"})
  void grpcStatusTrailersReachTheClient(ClientKind kind) {
    HttpClientAgent client = scope.client(kind, proxy);
    HttpClientRequest call = Await.result(client.request(HttpMethod.POST, "/echo.Echo/Stream"));
    call.authority(HostAndPort.create("grpc.test", -1))
      .putHeader("content-type", "application/grpc")
      .putHeader("te", "trailers")
      .setChunked(true);
    Future<Reply> reply = call.response().compose(Reply::read);
    for (int i = 0; i < MESSAGES; i++) {
      call.write("m" + i + ";");
    }
    call.end();

    Reply got = Await.result(reply);
    MultiMap trailers = got.response().trailers();
    assertEquals(200, got.response().statusCode());
    assertEquals("application/grpc", got.response().getHeader("content-type"));
    assertEquals("reply to m0;reply to m1;reply to m2;", got.body());
    assertEquals("0", trailers.get("grpc-status"), "trailers: " + trailers);
    assertEquals("te was trailers", trailers.get("grpc-message"));
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(value = ClientKind.class, names = {"H2C", "H2_TLS"})
  void trailersAfterABodyOfDeclaredLengthReachAClientThatAskedForThem(ClientKind kind) {
    HttpClientAgent client = scope.client(kind, proxy);
    HttpClientRequest get = Await.result(client.request(HttpMethod.GET, "/sized"));
    get.authority(HostAndPort.create("grpc.test", -1)).putHeader("te", "trailers");
    // the body is asked for before the request goes out: attached later from this thread, it could miss
    // a response the event loop had already read to its end
    Future<Reply> reply = get.response().compose(Reply::read);
    get.end();

    Reply got = Await.result(reply);
    assertEquals(200, got.response().statusCode());
    assertEquals("0123456789", got.body());
    assertEquals("sum", got.response().trailers().get("x-checksum"), "trailers: " + got.response().trailers());
  }

  /** A response read to its end, so its trailers are known. */
  private record Reply(HttpClientResponse response, String body) {
    static Future<Reply> read(HttpClientResponse response) {
      return response.body().map(body -> new Reply(response, body.toString()));
    }
  }

  static Stream<Arguments> continueCases() {
    return Stream.of(ClientKind.HTTP1, ClientKind.H2C, ClientKind.H2_TLS)
      .flatMap(kind -> Stream.of(Arguments.of(kind, "grpc.test"), Arguments.of(kind, "h1.test")));
  }

  @ParameterizedTest(name = "{0} client, origin {1}")
  @MethodSource("continueCases")
  void expectContinueIsAnsweredByTheOriginBeforeTheBodyIsSent(ClientKind kind, String host) {
    expectContinueReachesTheOriginLowerCase(kind, host, "100-continue");
  }

  /**
   * The JDK's HttpClient writes {@code Expect: 100-Continue}; an origin that compares the value as written
   * (Node's HTTP/2 server) would answer it 417, so the origin gets it in its lower-case spelling.
   */
  @ParameterizedTest(name = "{0} client, origin {1}")
  @MethodSource("continueCases")
  void expectContinueInAnotherCaseReachesTheOriginLowerCase(ClientKind kind, String host) {
    expectContinueReachesTheOriginLowerCase(kind, host, "100-Continue");
  }

  private void expectContinueReachesTheOriginLowerCase(ClientKind kind, String host, String expect) {
    HttpClientAgent client = scope.client(kind, proxy);
    Buffer body = Buffer.buffer("the body");
    Promise<Void> continued = Promise.promise();
    HttpClientRequest request = Await.result(client.request(HttpMethod.POST, "/continue"));
    request.authority(HostAndPort.create(host, -1))
      .putHeader("expect", expect)
      .putHeader("content-length", String.valueOf(body.length()))
      .continueHandler(v -> {
        continued.complete();
        request.end(body);
      });
    Future<Reply> reply = request.response().compose(Reply::read);
    request.sendHead();

    Reply got = Await.result(reply);
    assertTrue(continued.future().isComplete(), "the client got 100 Continue before the final response");
    assertEquals(200, got.response().statusCode());
    assertEquals("expect 100-continue, read the body", got.body());
  }
}
