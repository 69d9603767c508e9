package io.muxgate.origin;

import java.util.concurrent.TimeUnit;

/**
 * Passive health of one origin: a failure that says the origin itself is down ({@link
 * FailureKind#ejectsOrigin()}: refused, connect timeout, TLS handshake, unresolvable) takes it out of
 * balancing for a back-off that doubles with each consecutive failure, from {@link #BASE_EJECTION_NANOS}
 * up to {@link #MAX_EJECTION_NANOS}. Once the back-off is over the origin gets traffic again; the
 * first connection that opens clears the record. Times are {@link System#nanoTime()} values passed in,
 * so the rules can be checked without waiting.
 */
public final class OriginHealth {

  /**
   * First ejection. Short because a connect failure is cheap to detect and a request that meets it is
   * retried on another origin: a probe every second costs one failed connect, not a failed request.
   */
  static final long BASE_EJECTION_NANOS = TimeUnit.SECONDS.toNanos(1);
  static final long MAX_EJECTION_NANOS = TimeUnit.SECONDS.toNanos(32);
  private static final int MAX_DOUBLINGS = 5;

  private int consecutiveFailures;
  private long ejectedUntilNanos;
  private long lastFailureNanos;

  synchronized void failed(long nowNanos) {
    consecutiveFailures++;
    long backOff = Math.min(MAX_EJECTION_NANOS,
      BASE_EJECTION_NANOS << Math.min(consecutiveFailures - 1, MAX_DOUBLINGS));
    ejectedUntilNanos = nowNanos + backOff;
    lastFailureNanos = nowNanos;
  }

  synchronized void succeeded() {
    consecutiveFailures = 0;
  }

  /** Whether the origin is out of balancing at {@code nowNanos}. */
  public synchronized boolean ejected(long nowNanos) {
    return consecutiveFailures > 0 && nowNanos - ejectedUntilNanos < 0;
  }

  /** When it last failed; meaningful only while {@link #ejected} or after any failure. */
  public synchronized long lastFailureNanos() {
    return lastFailureNanos;
  }

  synchronized int consecutiveFailures() {
    return consecutiveFailures;
  }

  synchronized long ejectedUntilNanos() {
    return ejectedUntilNanos;
  }
}
