package io.muxgate.origin;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.dns.AddressResolverOptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A DNS server on 127.0.0.1 that answers every query NXDOMAIN and records the names asked, so a test
 * can make an origin name unresolvable without any query leaving the machine. {@link #vertx()} makes a
 * Vert.x instance whose resolver knows only this server and a hosts file with localhost.
 */
final class LoopbackDnsStub implements AutoCloseable {

  private static final int NXDOMAIN = 3;

  private final DatagramSocket socket;
  private final List<String> queriedNames = new CopyOnWriteArrayList<>();
  private final Thread thread;

  LoopbackDnsStub() {
    try {
      socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    } catch (SocketException e) {
      throw new UncheckedIOException(e);
    }
    thread = new Thread(this::serve, "loopback-dns-stub");
    thread.setDaemon(true);
    thread.start();
  }

  int port() {
    return socket.getLocalPort();
  }

  List<String> queriedNames() {
    return queriedNames;
  }

  /**
   * A Vert.x instance resolving through this stub only. The build runs tests with
   * {@code -Dvertx.disableDnsResolver=true} (the JDK resolver, which would ask the system's DNS); Vert.x
   * reads that property when an instance is created, so it is lifted for this one creation.
   */
  Vertx vertx() {
    try {
      Path hosts = Files.createTempFile("muxgate-hosts", ".txt");
      hosts.toFile().deleteOnExit();
      Files.writeString(hosts, "127.0.0.1 localhost\n", StandardCharsets.US_ASCII);
      AddressResolverOptions resolver = new AddressResolverOptions()
        .setServers(List.of("127.0.0.1:" + port()))
        .setHostsPath(hosts.toString())
        .setSearchDomains(List.of())
        .setOptResourceEnabled(false)
        .setQueryTimeout(1_000)
        .setMaxQueries(2);
      String previous = System.clearProperty("vertx.disableDnsResolver");
      try {
        return Vertx.vertx(new VertxOptions().setAddressResolverOptions(resolver));
      } finally {
        if (previous != null) {
          System.setProperty("vertx.disableDnsResolver", previous);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void serve() {
    byte[] buffer = new byte[512];
    while (!socket.isClosed()) {
      DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
      try {
        socket.receive(packet);
        byte[] answer = nxdomain(packet.getData(), packet.getLength());
        if (answer != null) {
          socket.send(new DatagramPacket(answer, answer.length, packet.getSocketAddress()));
        }
      } catch (IOException e) {
        return; // closed
      }
    }
  }

  /** The query's header and question with QR, RA and RCODE=NXDOMAIN set and every other section dropped. */
  private byte[] nxdomain(byte[] query, int length) {
    if (length < 12) {
      return null;
    }
    int end = 12;
    StringBuilder name = new StringBuilder();
    while (end < length && query[end] != 0) {
      int label = query[end] & 0xff;
      if (name.length() > 0) {
        name.append('.');
      }
      name.append(new String(query, end + 1, Math.min(label, length - end - 1), StandardCharsets.US_ASCII));
      end += label + 1;
    }
    end += 1 + 4; // root label, QTYPE, QCLASS
    if (end > length) {
      return null;
    }
    queriedNames.add(name.toString());
    byte[] answer = java.util.Arrays.copyOf(query, end);
    answer[2] = (byte) (0x80 | (query[2] & 0x79)); // QR, opcode and RD kept
    answer[3] = (byte) (0x80 | NXDOMAIN);           // RA, RCODE
    answer[4] = 0;
    answer[5] = 1;                                  // one question
    for (int i = 6; i < 12; i++) {
      answer[i] = 0;                                // no answer, authority or additional records
    }
    return answer;
  }

  @Override
  public void close() {
    socket.close();
  }
}
