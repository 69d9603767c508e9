package io.muxgate.support;

import io.vertx.core.json.JsonObject;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Muxgate as a process of its own ({@code io.muxgate.Main} on this test's class path), for what only a
 * process shows: signals, exit status, stdout (the access log) and stderr. Its lines are queued as read.
 */
public final class MuxgateProcess implements AutoCloseable {

  private static final Pattern LISTENING = Pattern.compile("muxgate listening: http (\\d+), https (\\d+), admin (\\d+)");

  public final BlockingQueue<String> stdout = new LinkedBlockingQueue<>();
  public final BlockingQueue<String> stderr = new LinkedBlockingQueue<>();
  /** The stderr lines up to the one saying it listens, which waiting for that line took off {@link #stderr}. */
  public final List<String> startLines = new ArrayList<>();
  private final Process process;
  private final Path dir;
  private int httpPort;

  private MuxgateProcess(Process process, Path dir) {
    this.process = process;
    this.dir = dir;
  }

  /**
   * Starts Muxgate on free loopback ports with {@code settings} over the process config and {@code zones}
   * (file name → zone) in its tenants folder, and waits until it listens.
   */
  public static MuxgateProcess start(JsonObject settings, Map<String, JsonObject> zones)
    throws IOException, InterruptedException {
    return start(List.of(), settings, zones);
  }

  /** As {@link #start(JsonObject, Map)}, with {@code jvmFlags} on the process's command line. */
  public static MuxgateProcess start(List<String> jvmFlags, JsonObject settings, Map<String, JsonObject> zones)
    throws IOException, InterruptedException {
    Path dir = Files.createTempDirectory("muxgate-process");
    Path tenants = Files.createDirectories(dir.resolve("tenants"));
    for (Map.Entry<String, JsonObject> zone : zones.entrySet()) {
      Files.writeString(tenants.resolve(zone.getKey()), zone.getValue().encode());
    }
    Files.writeString(dir.resolve("muxgate.json"), new JsonObject().put("http_port", 0).put("https_port", 0)
      .put("admin_port", 0).put("bind", "127.0.0.1").put("event_loops", 1).mergeIn(settings).encode());
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> command = new ArrayList<>(List.of(java, "-Dvertx.disableDnsResolver=true"));
    command.addAll(jvmFlags);
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.muxgate.Main",
      "--conf", dir.resolve("muxgate.json").toString()));
    MuxgateProcess muxgate = new MuxgateProcess(new ProcessBuilder(command).start(), dir);
    pump(muxgate.process.getInputStream(), muxgate.stdout);
    pump(muxgate.process.getErrorStream(), muxgate.stderr);
    muxgate.awaitListening();
    return muxgate;
  }

  private void awaitListening() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      String line = stderr.poll(1, TimeUnit.SECONDS);
      if (line != null) {
        startLines.add(line);
      }
      Matcher m = line == null ? null : LISTENING.matcher(line);
      if (m != null && m.find()) {
        httpPort = Integer.parseInt(m.group(1));
        return;
      }
      assertTrue(process.isAlive(), "muxgate exited: " + stderr);
    }
    close();
    throw new AssertionError("muxgate did not start: " + stderr);
  }

  public int httpPort() {
    return httpPort;
  }

  public Process process() {
    return process;
  }

  /** Sends SIGTERM through the handle: {@link Process#destroy()} would also close the pipes read here. */
  public void terminate() {
    process.toHandle().destroy();
  }

  /** Waits until some stderr line read so far, or read within 10 s, contains {@code text}. */
  public void awaitStderr(String text) {
    Await.until(() -> stderr.stream().anyMatch(l -> l.contains(text)), 10_000, "stderr to say \"" + text + "\"");
  }

  /** Queues {@code in}'s lines as a daemon thread reads them, until the stream ends. */
  public static void pump(InputStream in, BlockingQueue<String> lines) {
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        for (String line = r.readLine(); line != null; line = r.readLine()) {
          lines.add(line);
        }
      } catch (IOException e) {
        // the process ended
      }
    }, "muxgate-output");
    reader.setDaemon(true);
    reader.start();
  }

  /** Ends the process if it still runs (SIGTERM, then SIGKILL) and deletes its config folder. */
  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      process.destroy();
      process.waitFor(20, TimeUnit.SECONDS);
      process.destroyForcibly();
    }
    ProxyHarness.deleteTree(dir);
  }
}
