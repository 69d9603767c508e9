package io.muxgate.origin;

import io.vertx.core.Vertx;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Every origin pool of the process, one per {@link OriginPeer}, shared by all event loops. A config
 * snapshot asks for its pools here; pools no snapshot refers to any more are retired.
 */
public final class OriginPools {

  static final long IDLE_SWEEP_MS = 250;

  private final Vertx vertx;
  private final PoolEvents events;
  private final Map<OriginPeer, OriginPool> pools = new ConcurrentHashMap<>();
  private final long sweepTimer;

  public OriginPools(Vertx vertx, PoolEvents events) {
    this.vertx = vertx;
    this.events = events;
    this.sweepTimer = vertx.setPeriodic(IDLE_SWEEP_MS, id -> closeIdle());
  }

  public OriginPool pool(OriginPeer peer) {
    return pools.computeIfAbsent(peer, p -> new OriginPool(p, OriginClients.create(vertx, p),
      OriginClients.connectOptions(p), events));
  }

  /** Retires every pool whose peer is not in {@code inUse}. */
  public void retainOnly(Set<OriginPeer> inUse) {
    pools.entrySet().removeIf(e -> {
      if (inUse.contains(e.getKey())) {
        return false;
      }
      e.getValue().retire();
      return true;
    });
  }

  public Iterable<OriginPool> all() {
    return pools.values();
  }

  private void closeIdle() {
    long now = System.nanoTime();
    for (OriginPool pool : pools.values()) {
      pool.closeIdle(now);
    }
  }

  /** Retires every pool; used at shutdown once client traffic has drained. */
  public void closeAll() {
    vertx.cancelTimer(sweepTimer);
    retainOnly(Set.of());
  }
}
