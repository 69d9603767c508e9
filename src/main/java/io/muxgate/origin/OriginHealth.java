package io.muxgate.origin;

import java.util.concurrent.TimeUnit;

/**
 * Passive health of one origin: a failure that says the origin itself is down ({@link
 * FailureKind#ejectsOrigin()}: refused, connect timeout, TLS handshake or certificate, unresolvable), or
 * {@link #OUTLIER_FAILURES} requests in a row failed at an origin that takes connections, takes it out of
 * balancing for a back-off that doubles with each consecutive ejection, from {@link #BASE_EJECTION_NANOS}
 * up to {@link #MAX_EJECTION_NANOS}. Once the back-off is over the origin gets traffic again; the
 * first connection that opens, or the first response, clears the record. Times are {@link System#nanoTime()} values passed in,
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

  /**
   * Requests failed at the origin in a row (reset, closed, invalid, unanswered) that eject an origin
   * which still takes connections: Envoy's consecutive-5xx outlier detection, whose default this is.
   */
  static final int OUTLIER_FAILURES = 5;

  private volatile int consecutiveFailures;
  private volatile int failedRequestsInARow;
  private long ejectedUntilNanos;
  private long lastFailureNanos;

  /**
   * A request failed at an origin that took its connection. The {@link #OUTLIER_FAILURES}th in a row
   * ejects it; once ejected and back without a success since, the first failure does.
   */
  public synchronized void requestFailed(long nowNanos) {
    if (++failedRequestsInARow >= OUTLIER_FAILURES || consecutiveFailures > 0) {
      failedRequestsInARow = 0;
      failed(nowNanos);
    }
  }

  /** A response came: the origin works, whatever failed before. Cheap when nothing did. */
  public void requestSucceeded() {
    if (failedRequestsInARow != 0 || consecutiveFailures != 0) {
      synchronized (this) {
        failedRequestsInARow = 0;
        consecutiveFailures = 0;
      }
    }
  }

  synchronized void failed(long nowNanos) {
    lastFailureNanos = nowNanos;
    if (consecutiveFailures > 0 && nowNanos - ejectedUntilNanos < 0) {
      // Already out: the failures of requests sent before the ejection are part of it. Doubling for each
      // would take an origin out for the longest back-off after one burst (Envoy's time grows per ejection).
      return;
    }
    consecutiveFailures++;
    long backOff = Math.min(MAX_EJECTION_NANOS,
      BASE_EJECTION_NANOS << Math.min(consecutiveFailures - 1, MAX_DOUBLINGS));
    ejectedUntilNanos = nowNanos + backOff;
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
