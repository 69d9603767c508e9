package io.muxgate;

import io.muxgate.support.MuxgateProcess;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code -Dvertx.disableDnsResolver=true}, which the tests run with, makes Vert.x look origin names up with
 * the JDK's blocking resolver, on the event loop that opens the connection. Nothing stops an operator from
 * setting it, so a process started with it says so at start; one started without it does not.
 */
class JdkResolverWarningTest {

  private static final String WARNING = "muxgate: warning: vertx.disableDnsResolver is set";

  @Test
  void aProcessOnTheJdkResolverWarnsAtStart() throws Exception {
    try (MuxgateProcess muxgate = MuxgateProcess.start(new JsonObject(), Map.of())) {
      assertTrue(muxgate.startLines.stream().anyMatch(line -> line.startsWith(WARNING)), muxgate.startLines.toString());
    }
  }

  @Test
  void aProcessOnVertxsOwnResolverDoesNotWarn() throws Exception {
    try (MuxgateProcess muxgate = MuxgateProcess.start(List.of("-Dvertx.disableDnsResolver=false"), new JsonObject(),
      Map.of())) {
      assertTrue(muxgate.startLines.stream().noneMatch(line -> line.contains("disableDnsResolver")),
        muxgate.startLines.toString());
    }
  }
}
