package io.muxgate.forward;

import io.muxgate.support.FrameClient;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * An HTTP/1.1 origin's hints reach an HTTP/2 client that sent {@code expect: 100-continue} with their names
 * lower-cased: Node and most HTTP/1.1 servers send {@code Link},
 * which no HTTP/2 header list may hold, and the 103 was dropped without a word.
 */
class EarlyHintsAfterContinueTest {

  @RegisterExtension
  final TestScope scope = new TestScope();

  @Test
  void anHttp11OriginsHintsReachAnHttp2ClientAwaitingContinue() throws Exception {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H1).handler(request -> request.response().writeContinue()
      .compose(v -> request.response().writeEarlyHints(HttpHeaders.headers().add("Link", "</style.css>; rel=preload")))
      .onComplete(ignored -> request.response().end("page")));
    ProxyHarness proxy = scope.startProxy("z", origin.url(), new JsonObject().put("origin_max_http_version", "1"));
    FrameClient client = FrameClient.connect(scope, scope.nettyGroup(), proxy.httpPort(), false);

    client.open(new DefaultHttp2Headers().method("POST").path("/").scheme("http").authority("z.test")
      .add("expect", "100-continue").add("content-length", "4"), false);

    assertEquals("100", client.head().status().toString());
    Http2Headers hints = client.head();
    assertEquals("103", hints.status().toString());
    assertEquals("</style.css>; rel=preload", String.valueOf(hints.get("link")));
    assertEquals("200", client.head().status().toString());
  }
}
