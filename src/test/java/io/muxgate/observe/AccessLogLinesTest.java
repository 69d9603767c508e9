package io.muxgate.observe;

import io.muxgate.support.MuxgateProcess;
import io.muxgate.support.Await;
import io.muxgate.support.RefusedPort;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The access log as an operator reads it: a Muxgate process of its own (the log goes to the process's
 * stdout), one JSON line per request with every field the contract lists, for a proxied request and for
 * the proxy's own refusals.
 */
class AccessLogLinesTest {

  private static final Pattern LISTENING = Pattern.compile("muxgate listening: http (\\d+), https (\\d+), admin (\\d+)");

  @RegisterExtension
  final TestScope scope = new TestScope();
  private Process muxgate;
  private final BlockingQueue<String> stdout = new LinkedBlockingQueue<>();
  private final BlockingQueue<String> stderr = new LinkedBlockingQueue<>();

  @TempDir
  Path dir;

  @AfterEach
  void stop() throws InterruptedException {
    if (muxgate != null) {
      muxgate.destroy();
      muxgate.waitFor(20, TimeUnit.SECONDS);
      muxgate.destroyForcibly();
    }
  }

  @Test
  void everyRequestGetsOneLineWithTheContractsFields() throws IOException, InterruptedException {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(req -> {
      if (req.path().equals("/reset")) {
        req.response().reset();
      } else {
        req.response().end("hello");
      }
    });
    int httpPort = start(origin.url(), "http://127.0.0.1:" + RefusedPort.pick());

    assertEquals(200, get(httpPort, "ok.test", "/hello?x=1"));
    JsonObject ok = nextLine();
    for (String field : List.of("time", "zone", "method", "path", "status", "duration_ms", "client_protocol", "origin",
      "origin_protocol", "origin_local_port", "origin_status", "bytes_in", "bytes_out", "error")) {
      assertTrue(ok.containsKey(field), field + " missing from " + ok);
    }
    assertEquals("ok", ok.getString("zone"));
    assertEquals("GET", ok.getString("method"));
    assertEquals("/hello", ok.getString("path"));
    assertEquals(200, ok.getInteger("status"));
    assertEquals("HTTP/1.1", ok.getString("client_protocol"));
    assertEquals(origin.url(), ok.getString("origin"));
    assertEquals("h2", ok.getString("origin_protocol"));
    assertNotNull(ok.getInteger("origin_local_port"));
    assertEquals(200, ok.getInteger("origin_status"));
    assertEquals(5, ok.getLong("bytes_out"));
    assertNull(ok.getString("error"));
    assertEquals("127.0.0.1", ok.getString("client"));
    assertEquals("ok.test", ok.getString("host"));

    assertEquals(421, get(httpPort, "nobody.test", "/"));
    JsonObject unknown = nextLine();
    assertEquals(421, unknown.getInteger("status"));
    assertEquals("unknown_zone", unknown.getString("error"));
    assertEquals("nobody.test", unknown.getString("host"), "which host no zone claimed");
    assertEquals("error code: 421".length(), unknown.getLong("bytes_out"), "the proxy's own body counts");

    assertEquals(520, get(httpPort, "ok.test", "/reset"));
    JsonObject reset = nextLine();
    assertEquals(520, reset.getInteger("status"));
    assertEquals("origin_reset", reset.getString("error"));
    assertEquals("h2", reset.getString("origin_protocol"), "the connection that carried it: " + reset);
    assertEquals(ok.getInteger("origin_local_port"), reset.getInteger("origin_local_port"));

    assertEquals(521, get(httpPort, "down.test", "/"));
    JsonObject refused = nextLine();
    assertEquals("down", refused.getString("zone"));
    assertEquals(521, refused.getInteger("status"));
    assertEquals("connection_refused", refused.getString("error"));
    assertNull(refused.getInteger("origin_status"));
    assertNull(refused.getInteger("origin_local_port"), "no connection carried it");
    assertEquals("error code: 521".length(), refused.getLong("bytes_out"));
  }

  /**
   * A request that met a down origin and went on to another: its line names the one that answered in
   * {@code origin} and the one tried first in {@code origins_tried}; a line with one attempt has neither
   * that nor {@code attempts}. Each of 16 zones has a down origin and the same up one, and balancing picks at
   * random: that no request of the 16 meets its zone's down origin first has odds of 1 in 65536.
   */
  @Test
  void aFailedOverRequestsLineNamesTheOriginTriedFirst() throws IOException, InterruptedException {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C);
    Map<String, String> downOrigins = new HashMap<>();
    Map<String, JsonObject> zones = new HashMap<>();
    for (int i = 0; i < 16; i++) {
      String down = "h2c://127.0.0.1:" + RefusedPort.pick();
      downOrigins.put("fo" + i, down);
      zones.put("fo" + i + ".json", zone("fo" + i, down, origin.url()));
    }
    int httpPort = start(zones);

    int failedOver = 0;
    for (int i = 0; i < 16; i++) {
      assertEquals(200, get(httpPort, "fo" + i + ".test", "/"));
      JsonObject line = nextLine();
      assertEquals(origin.url(), line.getString("origin"), "the origin that answered");
      if (line.containsKey("origins_tried")) {
        failedOver++;
        assertEquals(new JsonArray().add(downOrigins.get(line.getString("zone"))), line.getJsonArray("origins_tried"));
        assertEquals(2, line.getInteger("attempts"));
      } else {
        assertFalse(line.containsKey("attempts"), line.encode());
      }
    }
    assertTrue(failedOver > 0, "no request met a down origin first");
  }

  /** SIGTERM with a request that outlives drain_timeout_s: its line says the drain cut it, and stderr says so. */
  @Test
  void aRequestCutByTheDrainIsLoggedAsSuch() throws IOException, InterruptedException {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(req -> {
      // never answers
    });
    int httpPort = start(origin.url(), "http://127.0.0.1:" + RefusedPort.pick());
    Thread client = new Thread(() -> {
      try {
        get(httpPort, "ok.test", "/slow");
      } catch (IOException | RuntimeException cut) {
        // the drain closes the connection
      }
    });
    client.start();
    origin.awaitInFlight(1);

    // SIGTERM through the handle: Process.destroy() would also close the pipes the readers read.
    muxgate.toHandle().destroy();
    assertTrue(muxgate.waitFor(20, TimeUnit.SECONDS), "stops after drain_timeout_s");
    assertEquals(0, muxgate.exitValue());

    JsonObject cut = nextLine();
    assertEquals("/slow", cut.getString("path"));
    assertEquals(503, cut.getInteger("status"));
    assertEquals("drain_timeout", cut.getString("error"));
    Await.until(() -> stderr.stream().anyMatch(l -> l.contains("stopped after")), 5_000, "the stop's last line");
    assertTrue(stderr.stream().anyMatch(l -> l.contains("stopping: 1 request(s) in flight")), "stderr: " + stderr);
    client.join(10_000);
  }

  /**
   * A response whose head and part of its body the client already had when drain_timeout_s ran out keeps
   * the origin's status, with the drain in the error: the client was sent a 200, not a 503.
   */
  @Test
  void aResponseCutByTheDrainAfterItsHeadKeepsTheOriginsStatus() throws IOException, InterruptedException {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(req -> {
      req.response().setChunked(true).write("first chunk\n"); // and never the end
    });
    int httpPort = start(origin.url(), "http://127.0.0.1:" + RefusedPort.pick());
    try (Socket socket = new Socket("127.0.0.1", httpPort)) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write("GET /stream HTTP/1.1\r\nHost: ok.test\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      readUntil(socket, "first chunk");

      muxgate.toHandle().destroy();
      assertTrue(muxgate.waitFor(20, TimeUnit.SECONDS), "stops after drain_timeout_s");
    }
    JsonObject cut = nextLine();
    assertEquals("/stream", cut.getString("path"));
    assertEquals(200, cut.getInteger("status"));
    assertEquals("drain_timeout", cut.getString("error"));
  }

  /**
   * A client that reads nothing of a large response when drain_timeout_s runs out: the stop cut it, not
   * the origin, whose connections the stop closes only after the drain.
   */
  @Test
  void aStalledClientCutByTheDrainIsNotBlamedOnTheOrigin() throws IOException, InterruptedException {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(req -> {
      req.response().setChunked(true);
      for (int i = 0; i < 256; i++) {
        req.response().write(io.vertx.core.buffer.Buffer.buffer(new byte[64 * 1024])); // 16 MiB, never ended
      }
    });
    int httpPort = start(origin.url(), "http://127.0.0.1:" + RefusedPort.pick());
    try (Socket socket = new Socket()) {
      socket.setReceiveBufferSize(4096);
      socket.connect(new java.net.InetSocketAddress("127.0.0.1", httpPort));
      socket.getOutputStream().write("GET /big HTTP/1.1\r\nHost: ok.test\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      origin.awaitInFlight(1);

      muxgate.toHandle().destroy(); // the client reads nothing, throughout
      assertTrue(muxgate.waitFor(20, TimeUnit.SECONDS), "stops after drain_timeout_s");
    }
    JsonObject cut = nextLine();
    assertEquals("/big", cut.getString("path"));
    assertEquals(200, cut.getInteger("status"));
    assertEquals("drain_timeout", cut.getString("error"));
  }

  private static void readUntil(Socket socket, String text) throws IOException {
    StringBuilder seen = new StringBuilder();
    byte[] buf = new byte[4096];
    while (seen.indexOf(text) < 0) {
      int n = socket.getInputStream().read(buf);
      assertTrue(n > 0, "closed before \"" + text + "\": " + seen);
      seen.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
    }
  }

  private JsonObject nextLine() throws InterruptedException {
    String line = stdout.poll(10, TimeUnit.SECONDS);
    assertNotNull(line, "no access-log line; stderr: " + stderr);
    return new JsonObject(line);
  }

  /** The status of a GET sent over a plain socket (Host set as given, nothing resolved). */
  private static int get(int port, String host, String path) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII));
      String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
      return Integer.parseInt(answer.substring("HTTP/1.1 ".length(), "HTTP/1.1 ".length() + 3));
    }
  }

  /** Starts Muxgate on free ports with zones "ok" and "down"; returns its HTTP port. */
  private int start(String okOrigin, String downOrigin) throws IOException, InterruptedException {
    return start(Map.of("ok.json", zone("ok", okOrigin), "down.json", zone("down", downOrigin)));
  }

  /** Starts Muxgate on free ports with the given zone files (file name to zone JSON); returns its HTTP port. */
  private int start(Map<String, JsonObject> zones) throws IOException, InterruptedException {
    Path tenants = Files.createDirectories(dir.resolve("tenants"));
    for (Map.Entry<String, JsonObject> zone : zones.entrySet()) {
      Files.writeString(tenants.resolve(zone.getKey()), zone.getValue().encode());
    }
    Files.writeString(dir.resolve("muxgate.json"), new JsonObject().put("http_port", 0).put("https_port", 0)
      .put("admin_port", 0).put("bind", "127.0.0.1").put("event_loops", 1).put("drain_timeout_s", 1).encode());
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    muxgate = new ProcessBuilder(java, "-Dvertx.disableDnsResolver=true", "-cp", System.getProperty("java.class.path"),
      "io.muxgate.Main", "--conf", dir.resolve("muxgate.json").toString()).start();
    MuxgateProcess.pump(muxgate.getInputStream(), stdout);
    MuxgateProcess.pump(muxgate.getErrorStream(), stderr);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      String line = stderr.poll(1, TimeUnit.SECONDS);
      Matcher m = line == null ? null : LISTENING.matcher(line);
      if (m != null && m.find()) {
        return Integer.parseInt(m.group(1));
      }
      assertTrue(muxgate.isAlive(), "muxgate exited: " + stderr);
    }
    throw new AssertionError("muxgate did not start: " + stderr);
  }

  private static JsonObject zone(String name, String... origins) {
    return new JsonObject().put("zone", name).put("hosts", new JsonArray().add(name + ".test"))
      .put("origins", new JsonArray(List.of((Object[]) origins)));
  }
}
