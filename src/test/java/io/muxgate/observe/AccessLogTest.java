package io.muxgate.observe;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.muxgate.config.OriginAddress;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.HostAndPort;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

  /** Each origin tried before the last, in order, only on the line of a request that took more than one try. */
  @Test
  void originsTriedNamesEachEarlierAttemptsOriginAndOnlyWhenThereWasOne() {
    OriginAddress first = OriginAddress.parse("h2c://10.0.0.1:8080");
    OriginAddress second = OriginAddress.parse("h2c://10.0.0.2:8080");
    OriginAddress last = OriginAddress.parse("https://origin.test:443");
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    try (AccessLog log = new AccessLog(sink)) {
      log.completed(record(last, 200));
      log.completed(record(last, 200, 3, List.of(first, second)));
    }

    List<JsonObject> lines = sink.toString(StandardCharsets.UTF_8).lines().map(JsonObject::new).toList();
    assertFalse(lines.get(0).containsKey("origins_tried"), lines.get(0).encode());
    assertEquals(new JsonArray().add("h2c://10.0.0.1:8080").add("h2c://10.0.0.2:8080"),
      lines.get(1).getJsonArray("origins_tried"));
    assertEquals("https://origin.test:443", lines.get(1).getString("origin"));
    assertEquals(3, lines.get(1).getInteger("attempts"));
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

  /**
   * Lines dropped while stdout stalls are counted on /metrics: whoever bills or audits from the log can see
   * that it is missing lines, and how many.
   */
  @Test
  void linesDroppedWhileStdoutStallsAreCountedOnMetrics() throws InterruptedException {
    CountDownLatch stalled = new CountDownLatch(1);
    CountDownLatch resume = new CountDownLatch(1);
    OutputStream stuck = new OutputStream() {
      @Override
      public void write(int b) {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) {
        stalled.countDown();
        try {
          resume.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    };
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    try (AccessLog log = new AccessLog(stuck)) {
      new ProxyMetrics(registry).accessLogDrops(log);
      log.completed(record(null, 200));
      assertTrue(stalled.await(10, TimeUnit.SECONDS), "the writer reached the stalled sink");
      for (int i = 0; i < 70_000; i++) {
        log.completed(record(null, 200));
      }

      assertTrue(log.dropped() > 0, "dropped " + log.dropped());
      assertTrue(registry.scrape().contains("muxgate_access_log_dropped_total " + (double) log.dropped()),
        registry.scrape().lines().filter(line -> line.contains("access_log")).toList().toString());
      resume.countDown();
    }
  }

  private static ExchangeRecord record(OriginAddress origin, int status) {
    return record(origin, status, 1, null);
  }

  private static ExchangeRecord record(OriginAddress origin, int status, int attempts, List<OriginAddress> tried) {
    return new ExchangeRecord(0, 1_000_000, "shop", "GET", "/", status, "h2", "192.0.2.7",
      HostAndPort.create("shop.test", -1), origin,
      origin != null ? "h2" : null, -1, origin != null ? status : -1, 0, 12, null, attempts, tried);
  }
}
