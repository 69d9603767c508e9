package io.muxgate.forward;

import io.muxgate.support.ProxyHarness;
import io.muxgate.support.RawHttp;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.http.HttpHeaders;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An origin's 103 (Early Hints) reaches an HTTP/1.1 client ahead of the response, and never an HTTP/1.0
 * one, which RFC 9110 (section 15.2) says must not be sent a 1xx.
 */
class EarlyHintsTest {

  @RegisterExtension
  final TestScope scope = new TestScope();
  private ProxyHarness proxy;

  @BeforeEach
  void setUp() {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(request -> request.response()
      .writeEarlyHints(HttpHeaders.headers().add("link", "</style.css>; rel=preload"))
      .onComplete(ignored -> request.response().end("page")));
    proxy = scope.startProxy("z", origin.url(), null);
  }

  @Test
  void anHttp11ClientGetsTheHintsThenTheResponse() throws IOException {
    String answer = RawHttp.exchange(proxy.httpPort(), "GET / HTTP/1.1\r\nHost: z.test\r\nConnection: close\r\n\r\n");

    assertTrue(answer.startsWith("HTTP/1.1 103 "), answer);
    assertTrue(answer.toLowerCase().contains("\r\nlink: </style.css>; rel=preload\r\n"), answer);
    assertTrue(answer.contains("\r\n\r\nHTTP/1.1 200 "), answer);
    assertTrue(answer.endsWith("page"), answer);
  }

  @Test
  void anHttp10ClientGetsTheResponseAlone() throws IOException {
    String answer = RawHttp.exchange(proxy.httpPort(), "GET / HTTP/1.0\r\nHost: z.test\r\n\r\n");

    assertTrue(answer.startsWith("HTTP/1.1 200 "), answer);
    assertTrue(answer.endsWith("page"), answer);
  }
}
