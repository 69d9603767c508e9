package io.muxgate.origin;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.dns.AddressResolverOptions;

import java.io.ByteArrayOutputStream;
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
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A DNS server on 127.0.0.1 that answers the A records it was given and every other query NXDOMAIN (an
 * AAAA query for a name it has A records of gets no records), and records the names asked, so a test can
 * give an origin name several addresses, or none, without any query leaving the machine. {@link #vertx()}
 * makes a Vert.x instance whose resolver knows only this server and a hosts file with localhost.
 */
final class LoopbackDnsStub implements AutoCloseable {

  private static final int NXDOMAIN = 3;
  private static final int TYPE_A = 1;
  private static final int TTL_SECONDS = 60;

  private final DatagramSocket socket;
  private final List<String> queriedNames = new CopyOnWriteArrayList<>();
  private final Map<String, List<String>> aRecords;
  /** Names whose answers are sent this long after their query. */
  private final Map<String, Long> slowNames;
  private final ScheduledExecutorService later = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread thread = new Thread(r, "loopback-dns-stub-later");
    thread.setDaemon(true);
    return thread;
  });
  private final Thread thread;

  LoopbackDnsStub() {
    this(Map.of());
  }

  /** With these IPv4 addresses (in this order) for each name. */
  LoopbackDnsStub(Map<String, List<String>> aRecords) {
    this(aRecords, Map.of());
  }

  /**
   * As {@link #LoopbackDnsStub(Map)}, answering each query for a name of {@code slowNames} only after its
   * delay in milliseconds (the resolver's query timeout must be longer: {@link #vertx(long)}).
   */
  LoopbackDnsStub(Map<String, List<String>> aRecords, Map<String, Long> slowNames) {
    this.aRecords = Map.copyOf(aRecords);
    this.slowNames = Map.copyOf(slowNames);
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
    return vertx(1_000);
  }

  /** {@link #vertx()} with a resolver that waits this long for an answer to a query. */
  Vertx vertx(long queryTimeoutMillis) {
    try {
      Path hosts = Files.createTempFile("muxgate-hosts", ".txt");
      hosts.toFile().deleteOnExit();
      Files.writeString(hosts, "127.0.0.1 localhost\n", StandardCharsets.US_ASCII);
      AddressResolverOptions resolver = new AddressResolverOptions()
        .setServers(List.of("127.0.0.1:" + port()))
        .setHostsPath(hosts.toString())
        .setSearchDomains(List.of())
        .setOptResourceEnabled(false)
        .setQueryTimeout(queryTimeoutMillis)
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
        byte[] answer = answer(packet.getData(), packet.getLength());
        if (answer == null) {
          continue;
        }
        DatagramPacket reply = new DatagramPacket(answer, answer.length, packet.getSocketAddress());
        Long delay = slowNames.get(queriedNames.get(queriedNames.size() - 1).toLowerCase(java.util.Locale.ROOT));
        if (delay == null) {
          socket.send(reply);
        } else {
          later.schedule(() -> {
            socket.send(reply);
            return null;
          }, delay, TimeUnit.MILLISECONDS);
        }
      } catch (IOException e) {
        return; // closed
      }
    }
  }

  /**
   * The query's header and question with QR and RA set, then the name's A records if it has some and A
   * was asked, nothing more if it has some and another type was asked, else RCODE=NXDOMAIN.
   */
  private byte[] answer(byte[] query, int length) {
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
    List<String> addresses = aRecords.get(name.toString().toLowerCase(java.util.Locale.ROOT));
    int type = ((query[end - 4] & 0xff) << 8) | (query[end - 3] & 0xff);
    List<String> answers = addresses != null && type == TYPE_A ? addresses : List.of();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(query, 0, end);
    byte[] answer = out.toByteArray();
    answer[2] = (byte) (0x80 | (query[2] & 0x79)); // QR, opcode and RD kept
    answer[3] = (byte) (0x80 | (addresses == null ? NXDOMAIN : 0)); // RA, RCODE
    answer[4] = 0;
    answer[5] = 1;                                  // one question
    answer[6] = 0;
    answer[7] = (byte) answers.size();
    for (int i = 8; i < 12; i++) {
      answer[i] = 0;                                // no authority or additional records
    }
    out.reset();
    out.writeBytes(answer);
    for (String address : answers) {
      out.writeBytes(new byte[] {(byte) 0xc0, 12, 0, TYPE_A, 0, 1,   // the question's name, A, IN
        0, 0, 0, TTL_SECONDS, 0, 4});                                // TTL, 4 bytes of data
      try {
        out.writeBytes(InetAddress.getByName(address).getAddress());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return out.toByteArray();
  }

  @Override
  public void close() {
    later.shutdownNow();
    socket.close();
  }
}
