package io.muxgate.support;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Records logged through java.util.logging (the backend Vert.x, Netty and Muxgate use here) under some
 * logger namespaces, from a minimum level, while it is open: for asserting what a path logs, or that it
 * logs nothing alarming.
 */
public final class CapturedLog extends Handler implements AutoCloseable {

  private final List<Logger> loggers;
  private final Level least;
  private final List<LogRecord> records = new CopyOnWriteArrayList<>();

  private CapturedLog(Level least, List<Logger> loggers) {
    this.least = least;
    this.loggers = loggers;
    loggers.forEach(l -> l.addHandler(this));
  }

  /** WARNING and SEVERE records under each of {@code namespaces}, such as {@code "io.netty"}. */
  public static CapturedLog warningsUnder(String... namespaces) {
    return new CapturedLog(Level.WARNING, List.of(namespaces).stream().map(Logger::getLogger).toList());
  }

  /** INFO and up from the logger of one class. */
  public static CapturedLog infoFrom(Class<?> source) {
    return new CapturedLog(Level.INFO, List.of(Logger.getLogger(source.getName())));
  }

  @Override
  public void publish(LogRecord record) {
    if (record.getLevel().intValue() >= least.intValue()) {
      records.add(record);
    }
  }

  /** Every record, one line each with its logger, level, message and exception. */
  public List<String> lines() {
    return records.stream()
      .map(r -> r.getLoggerName() + " " + r.getLevel() + ": " + r.getMessage()
        + (r.getThrown() == null ? "" : " " + r.getThrown()))
      .toList();
  }

  /** The records whose message contains {@code text}, each as its level and message. */
  public List<String> matching(String text) {
    return records.stream()
      .filter(r -> r.getMessage() != null && r.getMessage().contains(text))
      .map(r -> r.getLevel() + " " + r.getMessage())
      .toList();
  }

  @Override
  public void flush() {
  }

  @Override
  public void close() {
    loggers.forEach(l -> l.removeHandler(this));
  }
}
