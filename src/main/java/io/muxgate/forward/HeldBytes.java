package io.muxgate.forward;

import io.netty.util.internal.PlatformDependent;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A process-wide budget of body bytes held for a peer that does not take them. Two of them:
 * <ul>
 *   <li>response bytes ({@link #ofDirectMemory}, through {@link HeldResponseBytes}, which picks the streams
 *   to cut): what each stream read from its origin while its client's write queue was full, until the
 *   client drains it. One stream holds at most its origin receive window (1 MiB), but nothing else bounded
 *   their sum: some 250 clients that read nothing filled a 256 MB direct-memory cap, and every event loop
 *   then slept in the JDK's wait for direct memory, the other zones' requests with them;</li>
 *   <li>upload bytes ({@link #ofHeap}): what HTTP/2 clients sent while their origin took nothing more,
 *   copied to the heap until it does, and the body kept for a replay. One stream holds at most the window
 *   the front end gives it (1 MiB), a connection its 16 MiB window, but some 20 connections uploading to an
 *   origin that read nothing ran a 256 MB heap out, and the process died for every zone. Past the budget
 *   the stream that would hold more is cut.</li>
 * </ul>
 */
public final class HeldBytes {

  /** Of the memory the bytes live in: room left for reads, TLS and the peers that do take their bytes. */
  private static final int SHARE_OF_MEMORY = 4;

  private final long limit;
  private final AtomicLong held = new AtomicLong();

  HeldBytes(long limit) {
    this.limit = limit;
  }

  /** A quarter of the direct memory the JVM may use ({@code -XX:MaxDirectMemorySize}, else the heap's maximum). */
  public static HeldBytes ofDirectMemory() {
    return new HeldBytes(PlatformDependent.maxDirectMemory() / SHARE_OF_MEMORY);
  }

  /** A quarter of the heap's maximum ({@code -Xmx}). */
  public static HeldBytes ofHeap() {
    return new HeldBytes(Runtime.getRuntime().maxMemory() / SHARE_OF_MEMORY);
  }

  /** Counts {@code bytes} more as held, unless that would go over the budget: then nothing is counted. */
  public boolean tryHold(int bytes) {
    return tryHold(bytes, limit);
  }

  /**
   * Like {@link #tryHold}, for bytes kept only in case they are needed again (a body kept for a replay):
   * within half the budget, so that the bytes a stream cannot drop without failing always find room.
   */
  public boolean tryKeep(int bytes) {
    return tryHold(bytes, limit / 2);
  }

  private boolean tryHold(int bytes, long within) {
    if (held.addAndGet(bytes) <= within) {
      return true;
    }
    held.addAndGet(-bytes);
    return false;
  }

  /**
   * Counts {@code bytes} more as held (fewer if negative), within the budget or not: by how much the count
   * is now over it, zero or less while it is within.
   */
  long add(long bytes) {
    return held.addAndGet(bytes) - limit;
  }

  /** {@code bytes} held before are taken by their peer, or let go with their stream. */
  public void release(int bytes) {
    if (bytes > 0) {
      held.addAndGet(-bytes);
    }
  }
}
