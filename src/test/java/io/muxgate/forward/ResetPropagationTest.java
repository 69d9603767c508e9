package io.muxgate.forward;

import io.muxgate.admin.AdminApi;
import io.muxgate.observe.ExchangeRecord;
import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.netty.handler.codec.http2.Http2Error;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.StreamResetException;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.HostAndPort;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A stream cut on one side is cut on the other: a client that resets (or, on HTTP/1.1, drops its
 * connection) mid-upload or mid-download aborts the origin's stream, never ends it cleanly, and an
 * origin that resets mid-body makes the client see an error, not a clean end.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ResetPropagationTest {

  private static final long OUTCOME_SECONDS = 5;
  private static final Buffer CHUNK = Buffer.buffer(new byte[16 * 1024]);

  @RegisterExtension
  final TestScope scope = new TestScope();
  private TestOrigin h2cOrigin;
  private TestOrigin h1Origin;
  private ProxyHarness proxy;

  /** How the origin saw the current request finish: "ended" or "aborted: ...". */
  private volatile Promise<String> originOutcome;
  /** Completed once the origin has received (upload) or sent (download) its first body bytes. */
  private volatile Promise<Void> originBodyStarted;
  private final AtomicReference<HttpServerResponse> originResponse = new AtomicReference<>();

  @BeforeAll
  void start() {
    h2cOrigin = scope.startOrigin(TestOrigin.Mode.H2C).handler(this::serve);
    h1Origin = scope.startOrigin(TestOrigin.Mode.H1).handler(this::serve);
    proxy = scope.startProxy(Map.of(
      "h2c.json", zone("h2c", "h2c.test", List.of(h2cOrigin.url()), null),
      "h1.json", zone("h1", "h1.test", List.of(h1Origin.url()), new JsonObject().put("origin_max_http_version", "1"))));
  }

  @BeforeEach
  void resetObservations() {
    originOutcome = Promise.promise();
    originBodyStarted = Promise.promise();
    originResponse.set(null);
  }

  static Stream<Arguments> clientsAndOrigins() {
    return Stream.of(ClientKind.H2C, ClientKind.H2_TLS, ClientKind.HTTP1)
      .flatMap(kind -> Stream.of(Arguments.of(kind, "h2c.test"), Arguments.of(kind, "h1.test")));
  }

  @ParameterizedTest(name = "{0} client, origin {1}")
  @MethodSource("clientsAndOrigins")
  void clientResetMidUploadAbortsTheOriginStream(ClientKind kind, String host) {
    HttpClientAgent client = scope.client(kind, proxy);
    HttpClientRequest upload = Await.result(client.request(HttpMethod.POST, "/upload"));
    upload.authority(HostAndPort.create(host, -1)).setChunked(true)
      .exceptionHandler(ResetPropagationTest::ownReset);
    upload.write(CHUNK);
    Await.result(originBodyStarted.future(), OUTCOME_SECONDS);
    int connections = originFor(host).connectionsAccepted();

    upload.reset(Http2Error.CANCEL.code());

    assertAborted(Await.result(originOutcome.future(), OUTCOME_SECONDS), host);
    assertOriginConnectionKept(client, host, connections);
    ExchangeRecord logged = proxy.lastRecord("/upload");
    assertEquals(499, logged.status(), "nothing of the response reached the client");
    assertEquals("client_closed", logged.error());
  }

  @ParameterizedTest(name = "{0} client, origin {1}")
  @MethodSource("clientsAndOrigins")
  void clientResetMidDownloadAbortsTheOriginStream(ClientKind kind, String host) {
    HttpClientAgent client = scope.client(kind, proxy);
    Promise<Void> firstBytes = Promise.promise();
    HttpClientRequest download = Await.result(client.request(HttpMethod.GET, "/download"));
    download.authority(HostAndPort.create(host, -1)).exceptionHandler(ResetPropagationTest::ownReset);
    download.send().onSuccess(resp -> resp.handler(chunk -> firstBytes.tryComplete()));
    Await.result(firstBytes.future(), OUTCOME_SECONDS);
    int connections = originFor(host).connectionsAccepted();
    AdminApi admin = new AdminApi(scope.vertx(), proxy.adminPort());
    String served = "code=\"200\",zone=\"" + host.substring(0, host.indexOf('.')) + "\"";
    double servedBefore = admin.metric("muxgate_requests_total", served);

    download.reset(Http2Error.CANCEL.code());

    assertAborted(Await.result(originOutcome.future(), OUTCOME_SECONDS), host);
    // As nginx and HAProxy log it: the status the client was sent, the cut in the error. A 499 there
    // would also count every response a client read to its end just before the origin's END_STREAM.
    ExchangeRecord logged = proxy.lastRecord("/download");
    assertEquals(200, logged.status(), "the client was sent the origin's 200 before it left");
    assertEquals("client_closed", logged.error());
    assertEquals(servedBefore + 1, admin.metric("muxgate_requests_total", served), "counted as the 200 it was");
    assertOriginConnectionKept(client, host, connections);
  }

  /** Every client kind, with an origin reset that names an error and one that does not (NO_ERROR). */
  static Stream<Arguments> originResets() {
    return Stream.of(ClientKind.values()).flatMap(kind -> Stream.of(
      Arguments.of(kind, Http2Error.INTERNAL_ERROR), Arguments.of(kind, Http2Error.NO_ERROR)));
  }

  /**
   * A body the origin cuts is an error to the client, whatever the origin's code: RST_STREAM(NO_ERROR)
   * passed on would tell an HTTP/2 client the response was whole (RFC 9113, section 8.1).
   */
  @ParameterizedTest(name = "{0}, origin resets with {1}")
  @MethodSource("originResets")
  void originResetMidDownloadReachesTheClientAsAnError(ClientKind kind, Http2Error originCode) {
    HttpClientAgent client = scope.client(kind, proxy);
    Promise<Void> firstBytes = Promise.promise();
    Promise<Throwable> clientOutcome = Promise.promise();
    client.request(HttpMethod.GET, "/download").compose(req -> {
      req.authority(HostAndPort.create("h2c.test", -1));
      return req.send();
    }).onSuccess(response -> response
      .exceptionHandler(clientOutcome::tryComplete)
      .endHandler(v -> clientOutcome.tryFail("the client saw a clean end of a body the origin reset"))
      .handler(chunk -> firstBytes.tryComplete()));
    Await.result(firstBytes.future(), OUTCOME_SECONDS);

    originResponse.get().reset(originCode.code());

    Throwable error = Await.result(clientOutcome.future(), OUTCOME_SECONDS);
    if (kind.version() == HttpVersion.HTTP_2) {
      StreamResetException reset = assertInstanceOf(StreamResetException.class, error, "the client's stream is reset");
      assertNotEquals(Http2Error.NO_ERROR.code(), reset.getCode(), "the reset says the body is not whole");
    }
  }

  /**
   * POST: counts the upload and answers at its end; GET /download: streams a chunk every 20 ms for up
   * to 10 s; GET /hello: answers at once.
   */
  private void serve(HttpServerRequest request) {
    if (request.path().equals("/hello")) {
      request.response().end("hello");
      return;
    }
    Promise<String> outcome = originOutcome;
    HttpServerResponse response = request.response();
    originResponse.set(response);
    request.exceptionHandler(e -> outcome.tryComplete("aborted: " + e));
    response.exceptionHandler(e -> outcome.tryComplete("aborted: " + e));
    response.closeHandler(v -> outcome.tryComplete("aborted: connection closed"));
    if (request.method() == HttpMethod.POST) {
      AtomicLong received = new AtomicLong();
      request.handler(chunk -> {
        received.addAndGet(chunk.length());
        originBodyStarted.tryComplete();
      });
      request.endHandler(v -> {
        outcome.tryComplete("ended after " + received.get() + " bytes");
        response.end();
      });
    } else {
      response.setChunked(true).write(CHUNK);
      originBodyStarted.tryComplete();
      long[] ticks = {0};
      scope.vertx().setPeriodic(20, id -> {
        if (outcome.future().isComplete() || ++ticks[0] > 500) {
          scope.vertx().cancelTimer(id);
        } else if (!response.writeQueueFull()) {
          response.write(CHUNK);
        }
      });
    }
  }

  /** The test's own reset, reported back on the request it cancelled. */
  private static void ownReset(Throwable expected) {
  }

  private TestOrigin originFor(String host) {
    return host.equals("h2c.test") ? h2cOrigin : h1Origin;
  }

  /** Over HTTP/2 only the stream is reset (RST_STREAM); HTTP/1.1 has no way but closing the connection. */
  private static void assertAborted(String outcome, String host) {
    assertTrue(outcome.startsWith("aborted"), "the origin should see its stream aborted, saw: " + outcome);
    if (host.equals("h2c.test")) {
      assertTrue(outcome.contains(StreamResetException.class.getSimpleName()), "a stream reset, saw: " + outcome);
    }
  }

  /** The shared HTTP/2 origin connection outlives one cancelled stream and carries the next request. */
  private void assertOriginConnectionKept(HttpClientAgent client, String host, int connectionsBefore) {
    Exchange next = Await.result(Exchange.get(client, host, "/hello"));
    assertEquals(200, next.status(), next.body());
    if (host.equals("h2c.test")) {
      assertEquals(connectionsBefore, h2cOrigin.connectionsAccepted(), "origin connections opened");
    }
  }
}
