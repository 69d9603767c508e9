package io.muxgate.forward;

import io.muxgate.origin.TrustAnyCertificate;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import javax.net.ssl.SSLContext;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The JDK's HttpClient with {@code expectContinue(true)}, over HTTP/1.1 and h2, to HTTP/1.1 and HTTP/2
 * origins. It writes {@code Expect: 100-Continue} and sends nothing of its body until a 100 comes, however
 * late (JDK 17; from JDK 24, JDK-8324209, it goes on after 5 s), so the origin's 100 must reach it through
 * the proxy.
 *
 * <p>A final answer without a 100 (an origin that answers at once, or the proxy's own refusal) hangs JDK 17
 * (17.0.15 here) whatever the server does, also without a proxy: its {@code Exchange.expectContinue} reads
 * and drops that answer's body, then hands the response to the caller's body handler, which waits for a body
 * already gone (JDK-8286171, openjdk/jdk pull request 9093; JDK 25 takes such an answer at once). The proxy's
 * side of that answer, a whole response then the close over HTTP/1.1 and RST_STREAM(NO_ERROR) over h2, is
 * pinned with raw clients in EarlyResponseTest.
 */
class JdkExpectContinueTest {

  private static final int BODY = 256 * 1024;

  @RegisterExtension
  final TestScope scope = new TestScope();

  @ParameterizedTest(name = "{0} origin, client {1}")
  @CsvSource({"H1,HTTP_1_1", "H1,HTTP_2", "H2C,HTTP_1_1", "H2C,HTTP_2"})
  void aLateContinueFromTheOriginLetsTheJdkClientSendItsBody(TestOrigin.Mode mode, HttpClient.Version version)
    throws Exception {
    TestOrigin origin = scope.startOrigin(mode).handler(this::continueLate);

    HttpResponse<String> response = upload(mode, version, origin);

    assertEquals(version, response.version());
    assertEquals(200, response.statusCode());
    assertEquals("read " + BODY, response.body());
  }

  @ParameterizedTest(name = "{0} origin, client {1}")
  @CsvSource({"H1,HTTP_1_1", "H1,HTTP_2", "H2C,HTTP_1_1", "H2C,HTTP_2"})
  void anAnswerWithoutContinueReachesTheJdkClient(TestOrigin.Mode mode, HttpClient.Version version) throws Exception {
    assumeTrue(Runtime.version().feature() >= 20, "JDK-8286171: this client waits for ever on any such answer");
    TestOrigin origin = scope.startOrigin(mode).handler(req -> req.response().setStatusCode(401).end("no"));

    HttpResponse<String> response = upload(mode, version, origin);

    assertEquals(401, response.statusCode());
    assertEquals("no", response.body());
  }

  /** Sends 100 (Continue) a while after the head, as an origin that checks something first does, then reads the body. */
  private void continueLate(HttpServerRequest request) {
    request.body().onSuccess(body -> request.response().end("read " + body.length()));
    scope.vertx().setTimer(500, id -> request.response().writeContinue());
  }

  private HttpResponse<String> upload(TestOrigin.Mode mode, HttpClient.Version version, TestOrigin origin)
    throws Exception {
    ProxyHarness proxy = scope.startProxy(Map.of("z.json", ProxyHarness.zone("z", "localhost", List.of(origin.url()),
      mode == TestOrigin.Mode.H1 ? new JsonObject().put("origin_max_http_version", "1") : null)));
    SSLContext trustAll = SSLContext.getInstance("TLS");
    // the proxy's self-signed certificate, its name unchecked (an extended trust manager checks it itself)
    trustAll.init(null, TrustAnyCertificate.options().getTrustManagerFactory(scope.vertx()).getTrustManagers(), null);
    HttpClient jdk = HttpClient.newBuilder().version(version).sslContext(trustAll).build();
    // h2 over TLS: the JDK's h2c Upgrade is declined for a request with a body, which then stays HTTP/1.1
    URI target = URI.create(version == HttpClient.Version.HTTP_2
      ? "https://localhost:" + proxy.httpsPort() + "/upload" : "http://localhost:" + proxy.httpPort() + "/upload");

    return jdk.sendAsync(HttpRequest.newBuilder(target).expectContinue(true)
        .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[BODY])).build(), HttpResponse.BodyHandlers.ofString())
      .get(30, TimeUnit.SECONDS);
  }
}
