package io.muxgate.origin;

import io.vertx.core.Future;
import io.vertx.core.internal.PromiseInternal;

import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The requests of one {@link OriginPool} waiting for a stream, first in first out, bounded. Not
 * thread-safe: the pool calls it under its own lock.
 */
final class WaitQueue {

  /** Requests that may wait beyond what open and opening connections can take; the pool keeps to it. */
  static final int CAPACITY = 4096;

  private final ArrayDeque<PromiseInternal<Lease>> waiters = new ArrayDeque<>();
  /** Shared by every pool of the peer (the {@code muxgate_origin_requests_queued} gauge). */
  private final AtomicInteger gauge;

  WaitQueue(AtomicInteger gauge) {
    this.gauge = gauge;
  }

  void add(PromiseInternal<Lease> waiter) {
    waiters.add(waiter);
    gauge.incrementAndGet();
  }

  /** The oldest waiter, taken off; null when none waits. */
  PromiseInternal<Lease> poll() {
    PromiseInternal<Lease> waiter = waiters.poll();
    if (waiter != null) {
      gauge.decrementAndGet();
    }
    return waiter;
  }

  /** Takes off the waiter whose future is {@code future}, if it still waits. */
  void remove(Future<Lease> future) {
    if (waiters.removeIf(w -> w.future() == future)) {
      gauge.decrementAndGet();
    }
  }

  /** Whether {@code future}'s waiter is among the oldest {@code count}, the first to be served. */
  boolean amongOldest(Future<Lease> future, long count) {
    long seen = 0;
    for (PromiseInternal<Lease> waiter : waiters) {
      if (seen++ >= count) {
        return false;
      }
      if (waiter.future() == future) {
        return true;
      }
    }
    return false;
  }

  int size() {
    return waiters.size();
  }

  boolean isEmpty() {
    return waiters.isEmpty();
  }
}
