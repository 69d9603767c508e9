package io.muxgate.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The kernel's table of TCP sockets ({@code /proc/net/tcp} and {@code tcp6}): whether the far end of a
 * test's own connection still holds it, seen without reading from it (reading would let a stuck write
 * through).
 */
public final class TcpTable {

  private static final String ESTABLISHED = "01";
  private static final String SYN_SENT = "02";
  private static final String LISTEN = "0A";

  private TcpTable() {
  }

  /** Whether a socket on local port {@code localPort} is connected to remote port {@code remotePort}. */
  public static boolean established(int localPort, int remotePort) {
    return row(localPort, remotePort) != null;
  }

  /**
   * Whether the server on {@code serverPort} has accepted the connection from {@code clientPort} (until
   * then its socket has no inode: no process holds it) and read everything sent on it so far.
   */
  public static boolean acceptedAndRead(int serverPort, int clientPort) {
    String[] f = row(serverPort, clientPort);
    return f != null && f.length > 9 && !f[9].equals("0") && f[4].endsWith(":00000000");
  }

  /** The local ports of the sockets still connecting (SYN sent, no answer) to {@code remotePort}. */
  public static Set<Integer> connectingTo(int remotePort) {
    return lines().stream().map(line -> line.trim().split("\\s+"))
      .filter(f -> f.length > 3 && f[3].equals(SYN_SENT) && port(f[2]) == remotePort)
      .map(f -> port(f[1])).collect(Collectors.toSet());
  }

  /** Whether some socket listens on {@code port}. */
  public static boolean listening(int port) {
    return lines().stream().map(line -> line.trim().split("\\s+"))
      .anyMatch(f -> f.length > 3 && f[3].equals(LISTEN) && port(f[1]) == port);
  }

  /**
   * How many connections wait in the accept queue of the listener on {@code port}: their handshakes done
   * by the kernel, not yet accepted by the process (a listening socket's {@code rx_queue}); 0 if none listens.
   */
  public static int acceptQueue(int port) {
    return lines().stream().map(line -> line.trim().split("\\s+"))
      .filter(f -> f.length > 4 && f[3].equals(LISTEN) && port(f[1]) == port)
      .mapToInt(f -> Integer.parseInt(f[4].substring(f[4].indexOf(':') + 1), 16)).sum();
  }

  /** The fields of the established socket from {@code localPort} to {@code remotePort}, or null. */
  private static String[] row(int localPort, int remotePort) {
    for (String line : lines()) {
      String[] f = line.trim().split("\\s+");
      if (f.length > 3 && f[3].equals(ESTABLISHED) && port(f[1]) == localPort && port(f[2]) == remotePort) {
        return f;
      }
    }
    return null;
  }

  private static List<String> lines() {
    List<String> lines = new ArrayList<>();
    for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      try {
        lines.addAll(Files.readAllLines(Path.of(table)));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + table, e);
      }
    }
    return lines;
  }

  private static int port(String address) {
    return Integer.parseInt(address.substring(address.indexOf(':') + 1), 16);
  }
}
