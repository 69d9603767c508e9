package io.muxgate.origin;

import io.vertx.core.internal.logging.Logger;
import io.vertx.core.internal.logging.LoggerFactory;

import java.util.concurrent.TimeUnit;

/**
 * Passive health of one origin: a failure that says the origin itself is down ({@link
 * FailureKind#ejectsOrigin()}: refused, connect timeout, TLS handshake or certificate, unresolvable), or
 * {@link #OUTLIER_FAILURES} requests in a row failed at an origin that takes connections, takes it out of
 * balancing for a back-off that doubles with each consecutive ejection, from {@link #BASE_EJECTION_NANOS}
 * up to {@link #MAX_EJECTION_NANOS}. Once the back-off is over the origin gets traffic again; the
 * first connection that opens, or the first response, clears the record. The first ejection and the
 * return are logged. Times are {@link System#nanoTime()} values passed in, so the rules can be checked
 * without waiting.
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
   * Requests failed at the origin in a row (reset, closed, invalid, unanswered, a 5xx) that eject an origin
   * which still takes connections: Envoy's consecutive-5xx outlier detection, whose default this is.
   */
  static final int OUTLIER_FAILURES = 5;

  private static final Logger log = LoggerFactory.getLogger(OriginHealth.class);

  /** What the log lines call this origin ("origin https://10.0.0.5:443 of zone shop"); null: no lines. */
  private final String name;
  /** Told of each ejection, for the metric. */
  private final Runnable ejected;
  private volatile int consecutiveFailures;
  private volatile int failedRequestsInARow;
  private long ejectedUntilNanos;
  private long lastFailureNanos;

  public OriginHealth() {
    this(null, () -> { });
  }

  /**
   * Health that logs the first ejection of a streak and the return of the origin {@code name} names, and
   * runs {@code ejected} at every ejection.
   */
  OriginHealth(String name, Runnable ejected) {
    this.name = name;
    this.ejected = ejected;
  }

  /**
   * A request failed at an origin that took its connection. The {@link #OUTLIER_FAILURES}th in a row
   * ejects it; once ejected and back without a success since, the first failure does.
   */
  public void requestFailed(long nowNanos, FailureKind kind) {
    requestFailed(nowNanos, kind.reason());
  }

  /**
   * The origin answered a server error (5xx other than 501 and 505, which say what it does not support):
   * counted as a failed request, as Envoy's consecutive-5xx detection does. An origin that answers 503 at
   * once would otherwise draw most of the load, having the fewest requests in flight.
   */
  public void answeredServerError(long nowNanos, int status) {
    requestFailed(nowNanos, "status " + status);
  }

  /** Whether {@code status} is one {@link #answeredServerError} counts. */
  public static boolean isServerError(int status) {
    return status >= 500 && status <= 599 && status != 501 && status != 505;
  }

  private void requestFailed(long nowNanos, String why) {
    boolean eject;
    synchronized (this) {
      eject = ++failedRequestsInARow >= OUTLIER_FAILURES || consecutiveFailures > 0;
      if (eject) {
        failedRequestsInARow = 0;
      }
    }
    if (eject) {
      failed(nowNanos, consecutiveFailures > 0 ? why : OUTLIER_FAILURES + " failed requests in a row, the last " + why);
    }
  }

  /** A response came: the origin works, whatever failed before. Cheap when nothing did. */
  public void requestSucceeded() {
    if (failedRequestsInARow != 0 || consecutiveFailures != 0) {
      synchronized (this) {
        failedRequestsInARow = 0;
      }
      succeeded();
    }
  }

  /** The origin failed in a way that ejects it ({@code why}, for the log), unless it is out already. */
  void failed(long nowNanos, String why) {
    long backOff;
    boolean first;
    synchronized (this) {
      lastFailureNanos = nowNanos;
      if (consecutiveFailures > 0 && nowNanos - ejectedUntilNanos < 0) {
        // Already out: the failures of requests sent before the ejection are part of it. Doubling for each
        // would take an origin out for the longest back-off after one burst (Envoy's grows per ejection).
        return;
      }
      first = ++consecutiveFailures == 1;
      backOff = Math.min(MAX_EJECTION_NANOS, BASE_EJECTION_NANOS << Math.min(consecutiveFailures - 1, MAX_DOUBLINGS));
      ejectedUntilNanos = nowNanos + backOff;
    }
    ejected.run();
    if (name != null && first) {
      // Once, as HAProxy says a server is DOWN: the longer back-offs while it stays down are not news.
      log.warn(name + " taken out of balancing for " + TimeUnit.NANOSECONDS.toSeconds(backOff) + " s: " + why);
    }
  }

  void failed(long nowNanos) {
    failed(nowNanos, null);
  }

  /** The origin connected or answered: back in full, and the back-off starts over. */
  void succeeded() {
    boolean wasOut;
    synchronized (this) {
      wasOut = consecutiveFailures > 0;
      consecutiveFailures = 0;   // not the requests failed in a row: an origin that fails them takes connections
    }
    if (wasOut && name != null) {
      log.info(name + " is back in balancing: it connected or answered");
    }
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
