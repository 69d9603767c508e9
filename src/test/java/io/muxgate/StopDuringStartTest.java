package io.muxgate;

import io.muxgate.support.Await;
import io.muxgate.support.MuxgateProcess;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A SIGTERM while the process starts, or right after its listeners opened, is a clean stop: the start
 * finishes, the drain runs, the exit status is 0. The stop used to be installed only after the start,
 * and a signal in between ended the JVM at once with 143 and an IllegalStateException: seen when a test
 * stopped the process as soon as it said it was listening.
 */
class StopDuringStartTest {

  @TempDir
  Path dir;

  @Test
  @Timeout(value = 90, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aSigtermDuringTheStartIsACleanStop() throws Exception {
    Files.createDirectory(dir.resolve("tenants"));
    // No certificate configured: the start makes a self-signed one, seconds of keytool to land the signal in.
    Path conf = Files.writeString(dir.resolve("muxgate.json"), new JsonObject()
      .put("http_port", 0).put("https_port", 0).put("admin_port", 0).put("bind", "127.0.0.1")
      .put("tenants_dir", dir.resolve("tenants").toString()).put("event_loops", 1).put("drain_timeout_s", 1)
      .encode());
    Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
      "-Dvertx.disableDnsResolver=true", "-Djava.io.tmpdir=" + Files.createDirectory(dir.resolve("tmp")),
      "-cp", System.getProperty("java.class.path"), "io.muxgate.Main", "--conf", conf.toString())
      .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
      .start();
    BlockingQueue<String> stderr = new LinkedBlockingQueue<>();
    MuxgateProcess.pump(process.getErrorStream(), stderr);
    MuxgateProcess.pump(process.getInputStream(), new LinkedBlockingQueue<>());
    try {
      // printed once the stop is in place, just before the listeners' start
      Await.until(() -> stderr.stream().anyMatch(l -> l.startsWith("muxgate: transport")), 30_000,
        "the line before the start: " + stderr);
      process.toHandle().destroy();

      assertTrue(process.waitFor(60, TimeUnit.SECONDS), "still running: " + stderr);
    } finally {
      process.destroyForcibly();
    }
    assertEquals(0, process.exitValue(), "a clean stop: " + stderr);
    assertTrue(stderr.stream().anyMatch(l -> l.startsWith("muxgate: stopped after")), "the drain ran: " + stderr);
  }
}
