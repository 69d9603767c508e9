package io.muxgate.forward;

import java.util.concurrent.TimeUnit;

/**
 * A graceful stop as one event loop's requests see it: from its start, HTTP/1.x clients are told their
 * connection ends with the response under way; at its deadline, what is still in flight is cut and logged
 * as the drain's doing rather than the client's.
 */
final class Drain {

  private static final long MARGIN_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
  /** When a graceful stop cuts what is still in flight ({@link System#nanoTime()}); 0 while serving. */
  private volatile long deadlineNanos;

  /**
   * A graceful stop began: connections still open at {@code deadlineNanos} are closed. A stop's end only
   * comes sooner: a later deadline leaves an earlier one, as when a second stop signal's cut (now) comes
   * before the drain's own start has set its deadline.
   */
  synchronized void begin(long deadlineNanos) {
    long deadline = deadlineNanos == 0 ? 1 : deadlineNanos;
    long current = this.deadlineNanos;
    if (current == 0 || deadline - current < 0) {
      this.deadlineNanos = deadline;
    }
  }

  /**
   * During a stop the connection ends with the response under way: an HTTP/1.x client is told so (HTTP/2
   * ones get GOAWAY), rather than finding it closed when it sends its next request on it.
   */
  void closeAfterResponse(Downstream client) {
    if (deadlineNanos != 0) {
      LingeringClose.afterResponse(client);
    }
  }

  /**
   * Whether a client connection that goes away now was closed by the drain's end rather than by the
   * client. A little early, as the listener's own timer and this check race.
   */
  boolean cutByDrain() {
    long deadline = deadlineNanos;
    return deadline != 0 && System.nanoTime() - deadline > -MARGIN_NANOS;
  }
}
