package io.muxgate.config;

import io.muxgate.support.Await;
import io.muxgate.support.ProxyHarness;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Listens for {@link ConfigVerticle#IN_FORCE_ADDRESS}: the moment a snapshot is served by every event
 * loop. A test notes the version before it changes a file, then waits for a newer one and reads how long
 * the change took to reach every loop.
 */
final class ReloadWatch implements AutoCloseable {

  private final ProxyHarness proxy;
  private final MessageConsumer<Long> consumer;
  private final Map<Long, Long> inForceAtNanos = new ConcurrentHashMap<>();
  private long mark;
  private long markNanos;

  ReloadWatch(Vertx vertx, ProxyHarness proxy) {
    this.proxy = proxy;
    this.consumer = vertx.eventBus().localConsumer(ConfigVerticle.IN_FORCE_ADDRESS,
      msg -> inForceAtNanos.put(msg.body(), System.nanoTime()));
    Await.result(consumer.completion(), 5);
  }

  /** Remembers the version serving now; call right before changing a file. */
  ReloadWatch mark() {
    mark = proxy.app().zones().version();
    markNanos = System.nanoTime();
    return this;
  }

  /** Waits until a version newer than the mark serves on every loop; returns ms since the mark. */
  long awaitInForce() {
    Await.until(() -> inForceAtNanos.keySet().stream().anyMatch(v -> v > mark), 10_000,
      "a zones version newer than " + mark + " to be in force on every event loop");
    long at = inForceAtNanos.entrySet().stream().filter(e -> e.getKey() > mark)
      .mapToLong(Map.Entry::getValue).min().orElseThrow();
    return TimeUnit.NANOSECONDS.toMillis(at - markNanos);
  }

  @Override
  public void close() {
    consumer.unregister();
  }
}
