package io.muxgate.forward;

import io.muxgate.origin.OriginPool;

import java.util.List;

/**
 * The origins that can serve one zone or route. With several, a request goes to the pool with the
 * fewest streams in flight (least outstanding requests): it follows real load, where round robin would
 * keep feeding an origin that has slowed down.
 */
public record OriginSet(List<OriginPool> pools) {

  public OriginSet {
    pools = List.copyOf(pools);
  }

  /** The pool for the next attempt, avoiding {@code exclude} when another exists. */
  public OriginPool pick(OriginPool exclude) {
    if (pools.size() == 1) {
      return pools.get(0);
    }
    OriginPool best = null;
    int bestLoad = Integer.MAX_VALUE;
    for (OriginPool pool : pools) {
      if (pool == exclude) {
        continue;
      }
      int load = pool.activeStreams();
      if (load < bestLoad) {
        best = pool;
        bestLoad = load;
      }
    }
    return best != null ? best : pools.get(0);
  }
}
