package io.muxgate.forward;

import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** What an HTTP/2 origin's response list is scanned for, and dropping its hop-by-hop headers in place. */
class HeadersTest {

  @Test
  void hopByHopHeadersAreFoundAndDroppedAndTheRestKeptInOrder() {
    Http2Headers headers = new DefaultHttp2Headers(false).status("200")
      .add("content-type", "text/plain").add("host", "origin.test").add("keep-alive", "timeout=5")
      .add("te", "gzip").add("x-one", "1").add("http2-settings", "AAAA").add("x-two", "2");

    assertEquals(Headers.HOP_BY_HOP, Headers.scan(headers));
    Headers.dropHopByHop(headers);

    assertEquals(List.of(":status=200", "content-type=text/plain", "x-one=1", "x-two=2"), entries(headers));
  }

  /** TE is a request header (RFC 9110, section 10.1.4): in a response, even "trailers" goes. */
  @Test
  void teLeavesAResponseWhateverItsValue() {
    Http2Headers headers = new DefaultHttp2Headers(false).status("200").add("te", "trailers").add("upgrade", "h2c");

    Headers.dropHopByHop(headers);

    assertEquals(List.of(":status=200"), entries(headers));
  }

  @Test
  void viaAndEitherLocationAreFound() {
    assertEquals(Headers.VIA | Headers.LOCATION, Headers.scan(new DefaultHttp2Headers(false).status("302")
      .add("via", "1.1 cache").add("location", "/next")));
    assertEquals(Headers.LOCATION, Headers.scan(new DefaultHttp2Headers(false).status("200")
      .add("content-location", "/here")));
    assertEquals(0, Headers.scan(new DefaultHttp2Headers(false).status("204").add("etag", "\"x\"")
      .add("vary", "accept").add("proxy-authenticate", "Basic")));
  }

  private static List<String> entries(Http2Headers headers) {
    List<String> out = new ArrayList<>();
    for (Map.Entry<CharSequence, CharSequence> e : headers) {
      out.add(e.getKey() + "=" + e.getValue());
    }
    return out;
  }
}
