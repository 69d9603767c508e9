package io.muxgate.forward;

import io.vertx.core.internal.ContextInternal;

import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The response bytes the whole process holds for clients that do not take them: what each stream read from
 * its origin while its client's write queue was full, until the client drains it. One stream holds at most
 * its origin receive window (1 MiB), but nothing else bounded their sum: some 250 clients that read nothing
 * filled a 256 MB direct-memory cap, and every event loop then slept in the JDK's wait for direct memory,
 * the other zones' requests with them.
 *
 * <p>Past the budget the streams that have held bytes the longest without their client draining them are
 * cut, as many as it takes to make room, as Envoy's overload manager resets streams to free memory. Envoy
 * picks the largest buffers first; here that would be the wrong stream: a client that reads grows its
 * stream's window to 1 MiB, while one that never read holds its first 128 KiB for good, so the largest
 * holder is often a download still draining. A stream enters the registry when its client backs up and
 * leaves it when the client drains, so a response that never backs up never touches it.
 */
public final class HeldResponseBytes {

  /**
   * A stream that may hold bytes for its client. Its event loop adds and lets go of its bytes; a stream on
   * any loop going over the budget may take them out of the count when it picks this one to cut.
   */
  abstract static class Holder {

    private static final AtomicIntegerFieldUpdater<Holder> COUNTED =
      AtomicIntegerFieldUpdater.newUpdater(Holder.class, "counted");

    /** The bytes of this stream in the budget's count: taken out by its own let-go or by a cut, once. */
    private volatile int counted;
    /** Its key in the registry since it began to hold; 0 while it holds nothing. Its event loop's only. */
    private long since;

    /** The event loop the stream runs on. */
    abstract ContextInternal context();

    /** The budget is full and this stream has held bytes the longest: cut it. Runs on its event loop. */
    abstract void cut();
  }

  private final HeldBytes budget;
  /** The streams that hold bytes, by the order in which they began to: the first has held the longest. */
  private final ConcurrentSkipListMap<Long, Holder> holders = new ConcurrentSkipListMap<>();
  private final AtomicLong entered = new AtomicLong();

  HeldResponseBytes(HeldBytes budget) {
    this.budget = budget;
  }

  /** A quarter of the direct memory the JVM may use ({@code -XX:MaxDirectMemorySize}, else the heap's maximum). */
  public static HeldResponseBytes ofDirectMemory() {
    return new HeldResponseBytes(HeldBytes.ofDirectMemory());
  }

  /**
   * Counts {@code bytes} more as held by {@code holder}, on its event loop. Past the budget the streams that
   * have held bytes the longest are cut until the count fits: false if {@code holder} is one of them, which
   * the caller then cuts. Another is cut on its own event loop, its bytes out of the count at once: until it
   * frees them the process holds more than its budget, by what its event loops read meanwhile.
   */
  boolean tryHold(Holder holder, int bytes) {
    if (holder.since == 0) {
      holder.since = entered.incrementAndGet();
      holders.put(holder.since, holder);
    }
    Holder.COUNTED.addAndGet(holder, bytes);
    long over = budget.add(bytes);
    while (over > 0) {
      Map.Entry<Long, Holder> longest = holders.pollFirstEntry();
      if (longest == null) {
        // This one too was taken to be cut, by a stream on another event loop.
        return true;
      }
      Holder victim = longest.getValue();
      if (victim == holder) {
        letGo(holder);
        return false;
      }
      over = budget.add(-Holder.COUNTED.getAndSet(victim, 0));
      long since = longest.getKey();
      victim.context().runOnContext(v -> {
        if (victim.since == since) {
          victim.cut();
        }
      });
    }
    return true;
  }

  /** {@code holder}'s bytes count no more, on its event loop: its client took them, or its stream is over. */
  void letGo(Holder holder) {
    // Nothing counted for a stream that holds nothing: no atomic operation for a response that never backed up.
    if (holder.since == 0) {
      return;
    }
    holders.remove(holder.since);
    holder.since = 0;
    budget.release(Holder.COUNTED.getAndSet(holder, 0));
  }
}
