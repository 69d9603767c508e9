package io.muxgate.forward;

import io.muxgate.support.ProxyHarness;
import io.muxgate.support.RawHttp;
import io.muxgate.support.SlowBody;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An HTTP/1.1 client that lists "close" among other Connection options ({@code te, close}, as clients that
 * send TE do) has its connection closed after the response (RFC 9112, section 9.6), as one that sends a lone
 * "close" does, and not before the response is all sent, however long it streams.
 */
class ConnectionCloseOptionTest {

  /** Body pieces the streaming origin sends, one per {@link #PIECE_INTERVAL_MS}: 3 s, longer than a close lingers. */
  private static final int PIECES = 50;
  private static final long PIECE_INTERVAL_MS = 60;

  @RegisterExtension
  final TestScope scope = new TestScope();

  @ParameterizedTest(name = "Connection: {0}")
  @ValueSource(strings = {"te, close", "Close, X-Trace", "keep-alive, close"})
  void closeAmongOtherOptionsEndsTheConnectionAfterTheResponse(String connection) throws IOException {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(req -> req.response().end("hello"));
    ProxyHarness proxy = scope.startProxy("z", origin.url(), null);

    String answer = RawHttp.exchange(proxy.httpPort(), "GET / HTTP/1.1\r\nHost: z.test\r\nTE: trailers\r\n"
      + "X-Trace: 1\r\nConnection: " + connection + "\r\n\r\n");
    assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
    assertTrue(answer.toLowerCase(Locale.ROOT).contains("\r\nconnection: close\r\n"), answer);

    String refused = RawHttp.exchange(proxy.httpPort(), "GET / HTTP/1.1\r\nHost: nobody.test\r\nConnection: "
      + connection + "\r\n\r\n");
    assertTrue(refused.startsWith("HTTP/1.1 421"), refused);
    assertTrue(refused.toLowerCase(Locale.ROOT).contains("\r\nconnection: close\r\n"), refused);
    assertTrue(refused.endsWith("error code: 421"), refused);
  }

  @Test
  void aResponseStreamingLongerThanTheLingerIsSentWholeBeforeTheClose() throws IOException {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C)
      .handler(req -> SlowBody.send(scope.vertx(), req.response(), PIECES, PIECE_INTERVAL_MS));
    ProxyHarness proxy = scope.startProxy("z", origin.url(), null);

    String answer = RawHttp.exchange(proxy.httpPort(),
      "GET /stream HTTP/1.1\r\nHost: z.test\r\nTE: trailers\r\nConnection: te, close\r\n\r\n");
    assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
    assertTrue(answer.toLowerCase(Locale.ROOT).contains("\r\nconnection: close\r\n"), answer);
    assertEquals(PIECES, SlowBody.piecesIn(answer), answer);
    assertTrue(answer.endsWith("\r\n0\r\n\r\n"), "the chunked body's end: " + answer);
  }
}
