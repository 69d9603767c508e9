package io.muxgate.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The kernel's table of TCP sockets ({@code /proc/net/tcp} and {@code tcp6}): whether the far end of a
 * test's own connection still holds it, seen without reading from it (reading would let a stuck write
 * through).
 */
public final class TcpTable {

  private static final String ESTABLISHED = "01";

  private TcpTable() {
  }

  /** Whether a socket on local port {@code localPort} is connected to remote port {@code remotePort}. */
  public static boolean established(int localPort, int remotePort) {
    for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      try {
        for (String line : Files.readAllLines(Path.of(table))) {
          String[] f = line.trim().split("\\s+");
          if (f.length > 3 && f[3].equals(ESTABLISHED) && port(f[1]) == localPort && port(f[2]) == remotePort) {
            return true;
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + table, e);
      }
    }
    return false;
  }

  private static int port(String address) {
    return Integer.parseInt(address.substring(address.indexOf(':') + 1), 16);
  }
}
