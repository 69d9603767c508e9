package io.muxgate.forward;

import io.muxgate.origin.OriginPool;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The origins that can serve one zone or route. With several, a request goes to the pool with the
 * fewest requests in flight or queued for a stream (least outstanding requests): it follows real load,
 * where round robin would keep feeding an origin that has slowed down, and a pool at its connection cap
 * does not take requests to queue while another has room. Ties start from a random origin so that light,
 * sequential traffic still reaches every origin. Origins ejected by passive health are skipped; if
 * every candidate is ejected, the one that failed least recently gets the request rather than the
 * client getting a blanket error.
 */
public record OriginSet(List<OriginPool> pools) {

  public OriginSet {
    pools = List.copyOf(pools);
  }

  /** The pool for the next attempt, avoiding {@code exclude} when another exists. */
  public OriginPool pick(OriginPool exclude) {
    int n = pools.size();
    if (n == 1) {
      return pools.get(0);
    }
    long now = System.nanoTime();
    int start = ThreadLocalRandom.current().nextInt(n);
    OriginPool best = null;
    int bestLoad = Integer.MAX_VALUE;
    OriginPool leastRecentlyFailed = null;
    for (int i = 0; i < n; i++) {
      OriginPool pool = pools.get((start + i) % n);
      if (pool == exclude) {
        continue;
      }
      if (pool.health().ejected(now)) {
        if (leastRecentlyFailed == null
          || pool.health().lastFailureNanos() - leastRecentlyFailed.health().lastFailureNanos() < 0) {
          leastRecentlyFailed = pool;
        }
        continue;
      }
      int load = pool.load();
      if (load < bestLoad) {
        best = pool;
        bestLoad = load;
      }
    }
    if (best != null) {
      return best;
    }
    return leastRecentlyFailed != null ? leastRecentlyFailed : pools.get(0);
  }

  /**
   * Whether a retry could go to an origin other than {@code pool} that is in balancing now. Not to one
   * ejected: with every origin down, a request that met one would otherwise wait for a connect to each
   * in turn (a connect timeout apiece when they drop packets) to get the same error.
   */
  public boolean hasAlternativeInBalancing(OriginPool pool) {
    long now = System.nanoTime();
    for (OriginPool other : pools) {
      if (other != pool && !other.health().ejected(now)) {
        return true;
      }
    }
    return false;
  }
}
