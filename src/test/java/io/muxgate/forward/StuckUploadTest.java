package io.muxgate.forward;

import io.muxgate.admin.AdminApi;
import io.muxgate.observe.ExchangeRecord;
import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.HostAndPort;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * An HTTP/1.1 origin that stops reading an upload it has not answered: the proxy gives up at the read
 * timeout (524) and abandons the request. The connection cannot carry another request (the origin would
 * read it as the upload's rest), and Vert.x, which closes it, first waits to send the body it still holds:
 * forever. The proxy closes it at once, and the next request gets a new connection.
 */
class StuckUploadTest {

  /** Far more than the socket buffers between the proxy and the origin take. */
  private static final int UPLOAD_PARTS = 16 * 1024;

  @RegisterExtension
  final TestScope scope = new TestScope();

  @Test
  void aRequestQueuedBehindAnUploadTheOriginStoppedReadingGetsANewConnection() {
    TestOrigin origin = startOrigin(TestOrigin.Mode.H1);
    ProxyHarness proxy = scope.startProxy("z", origin.url(), new JsonObject()
      .put("origin_max_http_version", "1").put("origin_max_connections", 1).put("proxy_read_timeout", 1));

    stuckUploadThenNext(origin, proxy);

    assertEquals(2, origin.connectionsAccepted(), "the upload's connection was not reused");
  }

  /**
   * Over HTTP/2 the stuck upload is one stream: its reset gives back the connection's flow-control window
   * the unread body held, and the connection goes on carrying requests, uploads included.
   */
  @Test
  void overHttp2TheConnectionGoesOnAfterTheStuckStreamIsReset() {
    TestOrigin origin = startOrigin(TestOrigin.Mode.H2C);
    ProxyHarness proxy = scope.startProxy("z", origin.url(), new JsonObject()
      .put("origin_max_connections", 1).put("proxy_read_timeout", 1));

    HttpClientAgent client = stuckUploadThenNext(origin, proxy);

    Future<Exchange> posted = Exchange.send(client, HttpMethod.POST, "z.test", "/after", req -> {
    }, Buffer.buffer(new byte[256 * 1024]));
    assertEquals(200, Await.result(posted, 10).status(), "an upload after the reset");
    assertEquals(1, origin.connectionsAccepted(), "one connection carried all three");
  }

  /**
   * The other way round: the origin reads, the client stops sending. Still a 524 (no response headers
   * within the read timeout), but named for what happened and not charged to the origin, whose passive
   * health a few stalled uploads would otherwise eject.
   */
  @ParameterizedTest(name = "{0}")
  @EnumSource(value = ClientKind.class, names = {"H2C", "HTTP1"})
  void anUploadTheClientStopsSendingIsNotTheOriginsFault(ClientKind kind) {
    TestOrigin origin = startOrigin(TestOrigin.Mode.H2C);
    ProxyHarness proxy = scope.startProxy("z", origin.url(), new JsonObject().put("proxy_read_timeout", 1));

    Future<HttpClientResponse> answer = scope.client(kind, proxy).request(HttpMethod.POST, "/slow").compose(req -> {
      req.authority(HostAndPort.create("z.test", -1)).setChunked(true).exceptionHandler(e -> { });
      req.write(Buffer.buffer(new byte[1024])); // and no more, nor an end
      return req.response();
    });

    HttpClientResponse response = Await.result(answer, 10);
    assertEquals(524, response.statusCode());
    assertEquals("request_body_timeout", response.getHeader("muxgate-error"));
    assertEquals(0.0, new AdminApi(scope.vertx(), proxy.adminPort()).sumForZone("muxgate_origin_errors_total", "z"));
  }

  private TestOrigin startOrigin(TestOrigin.Mode mode) {
    return scope.startOrigin(mode).handler(request -> {
      if (request.path().equals("/stuck")) {
        request.pause(); // never read, never answered
      } else {
        request.body().onSuccess(body -> request.response().end("ok"));
      }
    });
  }

  /** An upload to /stuck, far larger than the socket buffers and windows between proxy and origin take. */
  private static Future<Integer> upload(HttpClientAgent client) {
    return client.request(HttpMethod.POST, "/stuck").compose(req -> {
      req.authority(HostAndPort.create("z.test", -1)).setChunked(true);
      req.exceptionHandler(e -> { }); // the proxy stops the upload once it has answered: expected
      // Parts the proxy never reads are still queued when the client closes at the test's end; their
      // writes then fail on the closed connection, which Vert.x would log as an error of its own.
      req.connection().exceptionHandler(e -> { });
      Buffer part = Buffer.buffer(new byte[1024]);
      for (int i = 0; i < UPLOAD_PARTS; i++) {
        req.write(part);
      }
      return req.response().map(HttpClientResponse::statusCode);
    });
  }

  /**
   * Uploads to /stuck, then asks for /next while the upload holds the zone's only origin connection; the
   * upload gets its 524 and /next its answer, sent once. Returns the client.
   */
  private HttpClientAgent stuckUploadThenNext(TestOrigin origin, ProxyHarness proxy) {
    HttpClientAgent client = scope.client(ClientKind.H2C, proxy);
    Future<Integer> stuck = upload(client);
    origin.awaitInFlight(1);
    Future<Exchange> next = Exchange.get(client, "z.test", "/next");

    assertEquals(524, Await.result(stuck, 10), "the stuck upload's answer");
    Exchange answer = Await.result(next, 10);
    assertEquals(200, answer.status(), answer.body());
    assertEquals("ok", answer.body());
    ExchangeRecord record = proxy.lastRecord("/next");
    assertEquals(1, record.attempts(), "the queued request was sent once: " + record);
    return client;
  }
}
