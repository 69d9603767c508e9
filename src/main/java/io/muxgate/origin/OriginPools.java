package io.muxgate.origin;

import io.vertx.core.Future;
import io.vertx.core.Vertx;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Every origin pool of the process, one per {@link OriginPeer}, shared by all event loops. A config
 * snapshot asks for its pools here; pools no snapshot refers to any more are retired.
 */
public final class OriginPools {

  /** Idle closes and PING deadlines are checked this often: 1 s timeouts then land within 1.25 s. */
  static final long SWEEP_MS = 250;

  private final Vertx vertx;
  private final PoolEvents events;
  private final Map<OriginPeer, OriginPool> pools = new ConcurrentHashMap<>();
  private final Map<OriginPeer, UpgradeConnector> upgrades = new ConcurrentHashMap<>();
  /** Pools out of service whose connections are still open, finishing their streams. */
  private final Set<OriginPool> retiring = ConcurrentHashMap.newKeySet();
  private final long sweepTimer;

  public OriginPools(Vertx vertx, PoolEvents events) {
    this.vertx = vertx;
    this.events = events;
    this.sweepTimer = vertx.setPeriodic(SWEEP_MS, id -> sweep());
  }

  public OriginPool pool(OriginPeer peer) {
    return pools.computeIfAbsent(peer, p -> new OriginPool(p, vertx, OriginClients.create(vertx, p),
      OriginClients.connectOptions(p), events));
  }

  /**
   * Where WebSocket upgrades to {@code pool}'s peer get their connections, one per peer, going to the
   * pool's addresses. Upgraded connections leave every pool: a config change that drops the peer retires
   * the connector, which closes its client only once the tunnels it opened are over.
   */
  public UpgradeConnector upgrades(OriginPool pool) {
    return upgrades.computeIfAbsent(pool.peer(), p -> new UpgradeConnector(p, vertx, pool.addresses(), pool.health(), events));
  }

  /** Retires every pool whose peer is not in {@code inUse}; completes once their connections closed. */
  public Future<Void> retainOnly(Set<OriginPeer> inUse) {
    upgrades.entrySet().removeIf(e -> {
      if (inUse.contains(e.getKey())) {
        return false;
      }
      e.getValue().retire();
      return true;
    });
    List<Future<Void>> closing = new ArrayList<>();
    pools.entrySet().removeIf(e -> {
      if (inUse.contains(e.getKey())) {
        return false;
      }
      OriginPool pool = e.getValue();
      retiring.add(pool);
      closing.add(pool.retire().andThen(ar -> retiring.remove(pool)));
      return true;
    });
    return Future.join(closing).mapEmpty();
  }

  /** The connectors of peers in service, for tests that follow their clients' lifetime. */
  Collection<UpgradeConnector> upgradesForTest() {
    return upgrades.values();
  }

  public Iterable<OriginPool> all() {
    return pools.values();
  }

  /**
   * The peers of every pool with connections that may still be open: those in service and those retired
   * whose connections have not all closed yet (a long download, a slow upload).
   */
  public Set<OriginPeer> openPeers() {
    Set<OriginPeer> peers = new HashSet<>(pools.keySet());
    retiring.forEach(pool -> peers.add(pool.peer()));
    return peers;
  }

  private void sweep() {
    long now = System.nanoTime();
    for (OriginPool pool : pools.values()) {
      pool.sweep(now);
    }
  }

  /**
   * Retires every pool; used at shutdown once client traffic has drained. Each origin connection gets
   * GOAWAY and closes as soon as its last stream ends; the future completes when all are closed.
   */
  public Future<Void> closeAll() {
    vertx.cancelTimer(sweepTimer);
    return retainOnly(Set.of());
  }
}
