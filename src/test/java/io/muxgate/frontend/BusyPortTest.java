package io.muxgate.frontend;

import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestScope;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A port already taken stops the start with a message naming the setting and the port. */
class BusyPortTest {

  @RegisterExtension
  final TestScope scope = new TestScope();

  @Test
  void aTakenPortIsNamedInTheFailure() throws IOException {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      AssertionError failed = assertThrows(AssertionError.class, () -> ProxyHarness.start(scope.vertx(), Map.of(),
        new JsonObject().put("admin_port", taken.getLocalPort())));

      String message = String.valueOf(failed.getCause().getMessage());
      assertTrue(message.contains("cannot listen on admin_port " + taken.getLocalPort() + ": "), message);
    }
  }
}
