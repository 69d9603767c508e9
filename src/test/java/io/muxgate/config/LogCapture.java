package io.muxgate.config;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** The lines one class logs through java.util.logging (Vert.x's default backend), kept for assertions. */
final class LogCapture extends Handler implements AutoCloseable {

  private final Logger logger;
  private final List<String> lines = new CopyOnWriteArrayList<>();

  LogCapture(Class<?> source) {
    logger = Logger.getLogger(source.getName());
    logger.addHandler(this);
  }

  @Override
  public void publish(LogRecord record) {
    if (record.getLevel().intValue() >= Level.INFO.intValue()) {
      lines.add(record.getLevel() + " " + record.getMessage());
    }
  }

  /** Lines containing {@code text}. */
  List<String> matching(String text) {
    return lines.stream().filter(l -> l.contains(text)).toList();
  }

  List<String> lines() {
    return lines;
  }

  @Override
  public void flush() {
  }

  @Override
  public void close() {
    logger.removeHandler(this);
  }
}
