package io.muxgate.observe;

import io.muxgate.config.OriginAddress;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.HostAndPort;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class AccessLogTest {

  @Test
  void linesNameTheOriginAsItsUrlAndLeaveItNullWhenNoneWasReached() {
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    try (AccessLog log = new AccessLog(sink)) {
      log.completed(record(OriginAddress.parse("https://[::1]:8443"), 200));
      log.completed(record(null, 404));
    }

    List<JsonObject> lines = sink.toString(StandardCharsets.UTF_8).lines().map(JsonObject::new).toList();
    assertEquals(2, lines.size());
    assertEquals("https://[::1]:8443", lines.get(0).getString("origin"));
    assertEquals(200, lines.get(0).getInteger("status"));
    assertNull(lines.get(1).getString("origin"));
    assertEquals(404, lines.get(1).getInteger("status"));
  }

  /** Netty reads the path's bytes one to a char: the log shows the UTF-8 they were, or %XX where they were not. */
  @Test
  void aPathIsShownAsTheBytesTheClientSent() {
    String utf8 = new String("/café/日本".getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
    String latin1 = new String(new byte[] {'/', 'c', 'a', 'f', (byte) 0xE9, '/'}, StandardCharsets.ISO_8859_1);

    assertEquals("/café/日本", AccessLog.asSent(utf8));
    assertEquals("/caf%E9/", AccessLog.asSent(latin1));
    assertEquals("/plain%20path", AccessLog.asSent("/plain%20path"));
  }

  private static ExchangeRecord record(OriginAddress origin, int status) {
    return new ExchangeRecord(0, 1_000_000, "shop", "GET", "/", status, "h2", "192.0.2.7",
      HostAndPort.create("shop.test", -1), origin,
      origin != null ? "h2" : null, -1, origin != null ? status : -1, 0, 12, null, 1);
  }
}
