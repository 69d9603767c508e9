package io.muxgate.forward;

import io.vertx.core.internal.ContextInternal;

import java.util.ArrayList;
import java.util.List;

/**
 * The timeouts of one event loop's exchanges. A single periodic timer, running only while exchanges are
 * in flight, looks at all of them every {@link #TICK_MS} ms. An exchange's progress is timed by the first
 * tick that sees it, so a timeout fires at most two ticks late, never early.
 * It replaces a Vert.x timer armed and cancelled per request, twice (stream wait, then read timeout),
 * each a scheduled task, a map entry and a close hook: about 5 % of the proxy's CPU at 1 KiB.
 *
 * <p>The exchanges form an intrusive doubly linked list, so tracking and untracking are O(1) and
 * allocate nothing. Every method runs on the owning event loop.
 */
final class Deadlines {

  static final long TICK_MS = 100;

  private Entry head;
  private ContextInternal context;
  private long timerId = -1;

  /**
   * What the list holds: its links, and the progress of the exchange, counted as it happens and given a
   * time by the tick that sees it change (a clock read per event cost 1 % of the CPU per request at 1 KiB).
   */
  abstract static class Entry {

    private Entry prev;
    private Entry next;
    private int activity;
    /** Unlike any count: the first tick that sees an entry times it. */
    private int activityTimed = -1;
    private long lastActivityNanos;

    /** Request or response progress: the timeout counts from now. */
    final void progressed() {
      activity++;
    }

    /** How long the entry may now go without progress; {@link Long#MAX_VALUE} once it is over. */
    abstract long idleLimitNanos();

    /** The tick at {@code nowNanos} found the entry {@link #expired}. */
    abstract void onDeadline(long nowNanos);

    abstract ContextInternal context();

    /**
     * Whether the entry has gone without progress for longer than its limit. Progress since the last call
     * counts as made at {@code nowNanos}.
     */
    final boolean expired(long nowNanos) {
      if (activity != activityTimed) {
        activityTimed = activity;
        lastActivityNanos = nowNanos;
        return false;
      }
      return nowNanos - lastActivityNanos >= idleLimitNanos();
    }
  }

  /** Starts watching {@code entry} until {@link #untrack} (which is harmless to repeat). */
  void track(Entry entry) {
    entry.next = head;
    entry.prev = null;
    if (head != null) {
      head.prev = entry;
    }
    head = entry;
    if (timerId < 0) {
      context = entry.context();
      timerId = context.setPeriodic(TICK_MS, this::tick);
    }
  }

  void untrack(Entry entry) {
    Entry prev = entry.prev;
    Entry next = entry.next;
    if (prev != null) {
      prev.next = next;
    } else if (head == entry) {
      head = next;
    }
    if (next != null) {
      next.prev = prev;
    }
    entry.prev = null;
    entry.next = null;
  }

  private void tick(long id) {
    if (head == null) {
      context.owner().cancelTimer(timerId);
      timerId = -1;
      return;
    }
    long now = System.nanoTime();
    // Expired exchanges are collected first: expiring one can finish others (a reset closing a connection).
    List<Entry> expired = null;
    for (Entry e = head; e != null; e = e.next) {
      if (e.expired(now)) {
        if (expired == null) {
          expired = new ArrayList<>();
        }
        expired.add(e);
      }
    }
    if (expired != null) {
      for (Entry e : expired) {
        e.onDeadline(now);
      }
    }
  }
}
