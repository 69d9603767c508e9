package io.muxgate;

import io.muxgate.config.ProcessConfig;
import io.muxgate.observe.ProxyMetrics;
import io.muxgate.support.SelfSignedFiles;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code warmup_s}: the start-up warm-up relays real requests — h2 and HTTP/1.1 over TLS, h2c, 1 KiB and
 * 64 KiB responses, uploads — through a throwaway proxy to its own origin, and every one of them succeeds.
 */
class WarmupTest {

  @TempDir
  Path dir;

  @Test
  void relaysEveryKindOfRequestWithoutAFailureWithinItsLimit() throws Exception {
    Path file = Files.writeString(dir.resolve("muxgate.json"),
      new JsonObject().put("warmup_s", 5).put("event_loops", 1).encode());
    ProcessConfig config = ProcessConfig.load(file, Map.of());
    Logger muxgateLog = Logger.getLogger("io.muxgate");
    Level before = muxgateLog.getLevel();

    Warmup.Result result = Warmup.run(config,
      registry -> Main.vertx(config, registry, ProxyMetrics.vertxBuiltins().setRegistryName("warmup-test")));

    assertEquals(0, result.failed(), "failed requests of " + result.requests());
    assertTrue(result.requests() > 0, "requests relayed: " + result.requests());
    assertTrue(result.rounds() >= 2, "an h2 round and an HTTP/1.1 round at least: " + result.rounds());
    assertTrue(result.seconds() < 5 + 10, "stops at its limit (plus the last round's drain): " + result.seconds());
    assertEquals(before, muxgateLog.getLevel(), "the proxy's log level is restored");
  }

  @Test
  @Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void mainWarmsUpBeforeItListens() throws Exception {
    Files.createDirectory(dir.resolve("tenants"));
    Path file = Files.writeString(dir.resolve("muxgate.json"), new JsonObject().put("warmup_s", 2)
      .put("http_port", 0).put("https_port", 0).put("admin_port", 0).put("bind", "127.0.0.1")
      .put("event_loops", 1).put("access_log", false).encode());
    Process process = startMain(file);
    List<String> lines = new ArrayList<>();
    try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), UTF_8))) {
      for (String line = out.readLine(); line != null; line = out.readLine()) {
        lines.add(line);
        if (line.contains("muxgate listening")) {
          break;
        }
      }
    } finally {
      process.destroy();
      process.waitFor(30, TimeUnit.SECONDS);
    }

    int warmup = indexOf(lines, "muxgate: warm-up: ");
    int listening = indexOf(lines, "muxgate listening");
    assertTrue(warmup >= 0 && lines.get(warmup).contains("(0 failed)"), "warm-up line: " + lines);
    assertTrue(listening > warmup, "listens after the warm-up: " + lines);
    assertEquals(1, lines.stream().filter(l -> l.contains("muxgate listening")).count(),
      "the throwaway proxy logs nothing of its own: " + lines);
  }

  @Test
  @Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aKeyFileThatIsNotAKeyStopsTheStartInOneLineBeforeTheWarmUp() throws Exception {
    Files.createDirectory(dir.resolve("tenants"));
    Path cert = SelfSignedFiles.certificate(dir.resolve("cert.pem"));
    Path key = Files.writeString(dir.resolve("key.pem"), "not a key\n");
    Path file = Files.writeString(dir.resolve("muxgate.json"), new JsonObject().put("warmup_s", 2)
      .put("http_port", 0).put("https_port", 0).put("admin_port", 0).put("bind", "127.0.0.1")
      .put("tls", new JsonObject().put("cert_file", cert.toString()).put("key_file", key.toString()))
      .put("event_loops", 1).encode());
    Process process = startMain(file);
    String out;
    try {
      out = new String(process.getInputStream().readAllBytes(), UTF_8);
    } finally {
      process.destroy();
      process.waitFor(30, TimeUnit.SECONDS);
    }

    assertEquals(2, process.exitValue(), "a config error's exit code: " + out);
    List<String> lines = out.lines().toList();
    assertEquals(1, lines.size(), "one line: " + out);
    assertTrue(lines.get(0).contains(file + ": tls.key_file: " + key), lines.get(0));
  }

  private static Process startMain(Path conf) throws Exception {
    return new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
      "-cp", System.getProperty("java.class.path"), "io.muxgate.Main", "--conf", conf.toString())
      .redirectErrorStream(true)
      .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
      .start();
  }

  private static int indexOf(List<String> lines, String text) {
    for (int i = 0; i < lines.size(); i++) {
      if (lines.get(i).contains(text)) {
        return i;
      }
    }
    return -1;
  }
}
