package io.muxgate.support;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A loopback port nothing listens on, for an origin that is down. Picked below the kernel's ephemeral
 * range: a port freed from a {@code bind(0)} goes back into that range, and the next server a test
 * starts on port 0 (the proxy's own admin port, say) can be handed the very same one.
 */
public final class RefusedPort {

  private static final Path EPHEMERAL_RANGE = Path.of("/proc/sys/net/ipv4/ip_local_port_range");
  private static final int LOWEST = 10_000;
  private static final int TRIES = 200;

  private RefusedPort() {
  }

  /** A port below the ephemeral range that was free a moment ago. */
  public static int pick() throws IOException {
    int ceiling = ephemeralStart();
    for (int i = 0; i < TRIES; i++) {
      int port = ThreadLocalRandom.current().nextInt(LOWEST, ceiling);
      try (ServerSocket probe = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
        return probe.getLocalPort();
      } catch (IOException taken) {
        // someone listens there: try another
      }
    }
    throw new IOException("no free port in " + LOWEST + ".." + ceiling + " after " + TRIES + " tries");
  }

  private static int ephemeralStart() {
    try {
      // Read as lines: /proc reports a size of 0, and a read sized by it stops after one character.
      return Integer.parseInt(Files.readAllLines(EPHEMERAL_RANGE).get(0).trim().split("\\s+")[0]);
    } catch (IOException | RuntimeException e) {
      return 32_768; // Linux's default
    }
  }
}
