package io.muxgate.observe;

import java.util.logging.Filter;
import java.util.logging.LogRecord;

/**
 * Lets one record of a logger through per period, and says on the next one let through how many were
 * left out meanwhile: for a third-party logger that can write a line per request, where the first line
 * says what happens and the count says how often.
 */
public final class RateLimitedLog implements Filter {

  private final long periodNanos;
  private long lastNanos;
  private boolean logged;
  private long suppressed;

  public RateLimitedLog(long periodNanos) {
    this.periodNanos = periodNanos;
  }

  @Override
  public synchronized boolean isLoggable(LogRecord record) {
    long now = System.nanoTime();
    if (logged && now - lastNanos < periodNanos) {
      suppressed++;
      return false;
    }
    if (suppressed > 0) {
      record.setMessage(record.getMessage() + " (" + suppressed + " more such lines left out since the last one)");
      suppressed = 0;
    }
    logged = true;
    lastNanos = now;
    return true;
  }
}
