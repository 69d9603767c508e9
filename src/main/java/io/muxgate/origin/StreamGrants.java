package io.muxgate.origin;

import io.vertx.core.internal.PromiseInternal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * How a pool's streams become {@link Lease}s: at once for a request that finds a connection with room,
 * or, as a connection gets room (opened, a stream over, a higher limit), handed to the requests queued
 * for one, oldest first.
 */
final class StreamGrants {

  private final OriginPool pool;
  private final WaitQueue waiters;
  /** Shared by every pool of the peer (the {@code muxgate_origin_streams_active} gauge). */
  private final AtomicInteger activeStreams;

  StreamGrants(OriginPool pool, WaitQueue waiters, AtomicInteger activeStreams) {
    this.pool = pool;
    this.waiters = waiters;
    this.activeStreams = activeStreams;
  }

  /** A stream on {@code chosen}, which has room, for the request asking now. Caller holds the pool's lock. */
  Lease leaseNow(OriginConnection chosen) {
    chosen.lease();
    activeStreams.incrementAndGet();
    return new Lease(pool, chosen, chosen.finished > 0);
  }

  /** A lease's stream is over. */
  void ended() {
    activeStreams.decrementAndGet();
  }

  /** Hands queued requests to {@code origin} up to its capacity. Caller holds the pool's lock. */
  List<PromiseInternal<Lease>> grant(OriginConnection origin) {
    List<PromiseInternal<Lease>> granted = null;
    while (origin.hasRoom() && !waiters.isEmpty()) {
      if (granted == null) {
        granted = new ArrayList<>();
      }
      granted.add(waiters.poll());
      origin.lease();
    }
    return granted == null ? List.of() : granted;
  }

  /**
   * Completes granted waiters, each on a later turn of its own loop: completed here, a waiter whose
   * request is already over (its client went away while it queued) would release its stream at once,
   * granting the next waiter from inside this call — a recursion as deep as the queue (thousands of
   * requests whose clients left, then a StackOverflowError in the middle of the pool's bookkeeping).
   */
  void complete(OriginConnection origin, List<PromiseInternal<Lease>> granted) {
    boolean reused = origin.finished > 0;
    for (PromiseInternal<Lease> waiter : granted) {
      activeStreams.incrementAndGet();
      Lease lease = new Lease(pool, origin, reused);
      waiter.context().runOnContext(v -> {
        if (!waiter.tryComplete(lease)) {
          lease.release();
        }
      });
    }
  }
}
