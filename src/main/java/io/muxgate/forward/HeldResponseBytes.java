package io.muxgate.forward;

import io.netty.util.internal.PlatformDependent;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The response bytes the whole process holds for clients that do not take them: what each stream read from
 * its origin while its client's write queue was full, until the client drains it. One stream holds at most
 * its origin receive window (1 MiB), but nothing else bounded their sum: some 250 clients that read nothing
 * filled a 256 MB direct-memory cap, and every event loop then slept in the JDK's wait for direct memory,
 * the other zones' requests with them. Past the budget the stream that would hold more is cut instead, as
 * Envoy's overload manager resets the streams that hold the most buffered bytes.
 */
public final class HeldResponseBytes {

  /** Of the process's direct-memory cap: room left for reads, TLS and the clients that do read. */
  private static final int SHARE_OF_DIRECT_MEMORY = 4;

  private final long limit;
  private final AtomicLong held = new AtomicLong();

  HeldResponseBytes(long limit) {
    this.limit = limit;
  }

  /** A quarter of the direct memory the JVM may use ({@code -XX:MaxDirectMemorySize}, else the heap's maximum). */
  public static HeldResponseBytes ofDirectMemory() {
    return new HeldResponseBytes(PlatformDependent.maxDirectMemory() / SHARE_OF_DIRECT_MEMORY);
  }

  /** Counts {@code bytes} more as held, unless that would go over the budget: then nothing is counted. */
  boolean tryHold(int bytes) {
    if (held.addAndGet(bytes) <= limit) {
      return true;
    }
    held.addAndGet(-bytes);
    return false;
  }

  /** {@code bytes} held before are taken by their client, or let go with their stream. */
  void release(int bytes) {
    if (bytes > 0) {
      held.addAndGet(-bytes);
    }
  }
}
