package io.muxgate.forward;

import io.muxgate.support.ProxyHarness;
import io.muxgate.support.RawHttp;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An HTTP/1.x request whose Content-Length is repeated, as a list or on two lines, is refused 400 and its
 * connection closed, whether the values agree or not and whatever the origin speaks: Vert.x's HTTP/1.1
 * decoder refuses them all, as nginx does, and RFC 9110, section 8.6 lets a recipient refuse even identical
 * ones. (An origin's response with identical ones is read as one length, see RepeatedContentLengthTest: a
 * proxy has to take what origins send, while a request's framing is where smuggling starts.) The bytes
 * after the head here form a second request, which no origin may see.
 */
class RepeatedRequestContentLengthTest {

  @RegisterExtension
  final TestScope scope = new TestScope();

  @ParameterizedTest(name = "{0} origin, [{1}]")
  @CsvSource(delimiter = '|', value = {
    "H1|Content-Length: 5, 5", "H1|Content-Length: 5\\r\\nContent-Length: 5", "H1|Content-Length: 5,5",
    "H1|Content-Length: 5, 6", "H1|Content-Length: 5\\r\\nContent-Length: 6",
    "H2C|Content-Length: 5, 5", "H2C|Content-Length: 5\\r\\nContent-Length: 5", "H2C|Content-Length: 5, 6"})
  void aRepeatedContentLengthGets400AndTheConnectionCloses(TestOrigin.Mode mode, String contentLength) throws IOException {
    TestOrigin origin = scope.startOrigin(mode).handler(req -> req.response().end("served"));
    ProxyHarness proxy = scope.startProxy("z", origin.url(),
      mode == TestOrigin.Mode.H1 ? new JsonObject().put("origin_max_http_version", "1") : null);

    // Line breaks are written escaped above: a CSV value ends at a real one.
    String answer = RawHttp.exchange(proxy.httpPort(), "POST /upload HTTP/1.1\r\nHost: z.test\r\n"
      + contentLength.replace("\\r\\n", "\r\n") + "\r\n\r\nhello"
      + "GET /smuggled HTTP/1.1\r\nHost: z.test\r\n\r\n");

    assertTrue(answer.startsWith("HTTP/1.1 400 "), answer);
    assertTrue(answer.toLowerCase(Locale.ROOT).contains("\r\nmuxgate-error: bad_request\r\n"), answer);
    assertTrue(answer.toLowerCase(Locale.ROOT).contains("\r\nconnection: close\r\n"), answer);
    assertTrue(answer.endsWith("\r\n\r\nerror code: 400"), "one answer, then the close: " + answer);
    assertEquals(0, origin.requests());
  }
}
