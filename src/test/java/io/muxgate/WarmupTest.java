package io.muxgate;

import io.muxgate.config.ProcessConfig;
import io.muxgate.observe.ProxyMetrics;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

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
      new JsonObject().put("warmup_s", 3).put("event_loops", 1).encode());
    ProcessConfig config = ProcessConfig.load(file, Map.of());
    Logger muxgateLog = Logger.getLogger("io.muxgate");
    Level before = muxgateLog.getLevel();

    Warmup.Result result = Warmup.run(config,
      registry -> Main.vertx(config, registry, ProxyMetrics.vertxBuiltins().setRegistryName("warmup-test")));

    assertEquals(0, result.failed(), "failed requests of " + result.requests());
    assertTrue(result.requests() > 0, "requests relayed: " + result.requests());
    assertTrue(result.rounds() >= 2, "an h2 round and an HTTP/1.1 round at least: " + result.rounds());
    assertTrue(result.seconds() < 3 + 10, "stops at its limit (plus the last round's drain): " + result.seconds());
    assertEquals(before, muxgateLog.getLevel(), "the proxy's log level is restored");
  }
}
