package io.muxgate.origin;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.PromiseInternal;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.net.SocketAddress;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What a peer's new connection tries, in order: every address its name resolves to (through Vert.x's
 * resolver, with its cache and TTLs), from a start that moves one on at each connection so that a
 * multi-address origin's connections spread over its addresses, with those that failed lately last.
 * An origin given as an IP address is that address alone, without any lookup.
 *
 * <p>Each address keeps the origin's name: SNI, certificate verification and the Host of the h2c Upgrade
 * preflight are those of the name, never of the IP (Vert.x reads the host of such an address, and
 * connects to its IP without resolving it again).
 */
final class OriginAddresses {

  /**
   * How long an address that failed to connect is tried after the others. Long enough that the burst of
   * connections a pool opens under load pays for a dead address once, short enough that an address back
   * up soon takes its share again; being tried last costs nothing while another address answers.
   */
  static final long FAILED_NANOS = TimeUnit.SECONDS.toNanos(10);
  /**
   * How long a name that did not resolve fails so without being asked again (Envoy's DNS failure refresh
   * rate defaults to 5 s). Vert.x's resolver caches no failure, and a zone whose origins are all out of
   * balancing still tries one per request: without this, each request of such a zone would be a query to
   * the resolver all zones share, and a lookup's work on the event loop they share.
   */
  static final long UNRESOLVED_NANOS = TimeUnit.SECONDS.toNanos(5);

  private final VertxInternal vertx;
  private final SocketAddress configured;
  /** Connections begun so far: where the next one starts in the list of addresses. */
  private final AtomicInteger connections = new AtomicInteger();
  /** IP (as text) → {@link System#nanoTime()} of its latest connect failure, for {@link #FAILED_NANOS}. */
  private final Map<String, Long> failedAt = new ConcurrentHashMap<>();
  /** The latest lookup's failure, for {@link #UNRESOLVED_NANOS}; null once a lookup finds addresses. */
  private volatile Unresolved unresolved;

  private record Unresolved(Throwable cause, long atNanos) {
  }

  OriginAddresses(Vertx vertx, SocketAddress configured) {
    this.vertx = (VertxInternal) vertx;
    this.configured = configured;
  }

  /** Whether the origin is given by name, with addresses to look up, rather than as an IP address. */
  boolean named() {
    return configured.hostAddress() == null;
  }

  /** The addresses to try for a new connection, in order; completes on {@code context}. */
  Future<List<SocketAddress>> next(ContextInternal context) {
    if (!named()) {
      return context.succeededFuture(List.of(configured));
    }
    Unresolved held = unresolved;
    if (held != null && System.nanoTime() - held.atNanos() < UNRESOLVED_NANOS) {
      return context.failedFuture(held.cause());
    }
    PromiseInternal<List<InetSocketAddress>> resolved = context.promise();
    vertx.nameResolver().resolveAll(context.nettyEventLoop(), configured.host()).addListener(resolved);
    return resolved.future().compose(found -> {
      if (found.isEmpty()) {
        return context.failedFuture(new UnknownHostException(configured.host()));
      }
      unresolved = null;
      return context.succeededFuture(inOrder(found));
    }).onFailure(cause -> unresolved = new Unresolved(cause, System.nanoTime()));
  }

  private List<SocketAddress> inOrder(List<InetSocketAddress> found) {
    Set<InetAddress> distinct = new LinkedHashSet<>();
    for (InetSocketAddress address : found) {
      distinct.add(address.getAddress());
    }
    List<InetAddress> ips = new ArrayList<>(distinct);
    int start = Math.floorMod(connections.getAndIncrement(), ips.size());
    List<SocketAddress> fresh = new ArrayList<>(ips.size());
    List<InetAddress> failed = new ArrayList<>();
    long now = System.nanoTime();
    for (int i = 0; i < ips.size(); i++) {
      InetAddress ip = ips.get((start + i) % ips.size());
      Long at = failedAt.get(ip.getHostAddress());
      if (at != null && now - at < FAILED_NANOS) {
        failed.add(ip);
      } else {
        fresh.add(named(ip));
      }
    }
    // Of those that failed lately, the one that failed longest ago first: the likeliest to be back.
    failed.sort((a, b) -> Long.compare(failedAt.getOrDefault(a.getHostAddress(), now),
      failedAt.getOrDefault(b.getHostAddress(), now)));
    for (InetAddress ip : failed) {
      fresh.add(named(ip));
    }
    return fresh;
  }

  /** {@code ip} under the origin's name: connected to by IP, presented (SNI, verification) by name. */
  private SocketAddress named(InetAddress ip) {
    try {
      InetAddress withName = InetAddress.getByAddress(configured.host(), ip.getAddress());
      return SocketAddress.inetSocketAddress(new InetSocketAddress(withName, configured.port()));
    } catch (UnknownHostException e) {
      throw new IllegalStateException("an address of " + ip.getAddress().length + " bytes", e);
    }
  }

  /** {@code address}, one of {@link #next}'s, could not be connected to: others go first for a while. */
  void failed(SocketAddress address) {
    if (address != configured) {
      long now = System.nanoTime();
      failedAt.values().removeIf(at -> now - at >= FAILED_NANOS);
      failedAt.put(address.hostAddress(), now);
    }
  }

  /** {@code address} took a connection: it is in the rotation again. */
  void connected(SocketAddress address) {
    if (address != configured && !failedAt.isEmpty()) {
      failedAt.remove(address.hostAddress());
    }
  }
}
