package io.muxgate.support;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * WARNING and SEVERE records logged through java.util.logging (the backend Vert.x and Netty use here)
 * under some logger namespaces while it is open: for asserting that a path logs nothing alarming.
 */
public final class LoggedWarnings extends Handler implements AutoCloseable {

  private final List<Logger> loggers;
  private final List<String> lines = new CopyOnWriteArrayList<>();

  private LoggedWarnings(List<Logger> loggers) {
    this.loggers = loggers;
    loggers.forEach(l -> l.addHandler(this));
  }

  /** Starts capturing under each of {@code namespaces}, such as {@code "io.netty"}. */
  public static LoggedWarnings under(String... namespaces) {
    return new LoggedWarnings(List.of(namespaces).stream().map(Logger::getLogger).toList());
  }

  @Override
  public void publish(LogRecord record) {
    if (record.getLevel().intValue() >= Level.WARNING.intValue()) {
      lines.add(record.getLoggerName() + " " + record.getLevel() + ": " + record.getMessage()
        + (record.getThrown() == null ? "" : " " + record.getThrown()));
    }
  }

  /** What was logged, one line per record, with its logger, level, message and exception. */
  public List<String> lines() {
    return List.copyOf(lines);
  }

  @Override
  public void flush() {
  }

  @Override
  public void close() {
    loggers.forEach(l -> l.removeHandler(this));
  }
}
