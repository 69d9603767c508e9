package io.muxgate.config;

import io.muxgate.support.Await;
import io.muxgate.support.ProxyHarness;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Listens for {@link ConfigVerticle#IN_FORCE_ADDRESS}: the moment a snapshot is served by every event
 * loop. A test notes the version before it changes a file, then waits for a newer one to be in force.
 */
final class ReloadWatch implements AutoCloseable {

  private final ProxyHarness proxy;
  private final MessageConsumer<Long> consumer;
  private final Set<Long> inForce = ConcurrentHashMap.newKeySet();
  private long mark;

  ReloadWatch(Vertx vertx, ProxyHarness proxy) {
    this.proxy = proxy;
    this.consumer = vertx.eventBus().localConsumer(ConfigVerticle.IN_FORCE_ADDRESS,
      msg -> inForce.add(msg.body()));
    Await.result(consumer.completion(), 5);
  }

  /** Remembers the version serving now; call right before changing a file. */
  ReloadWatch mark() {
    mark = proxy.app().zones().version();
    return this;
  }

  /** Waits until a version newer than the mark serves on every loop. */
  void awaitInForce() {
    Await.until(() -> inForce.stream().anyMatch(v -> v > mark), 10_000,
      "a zones version newer than " + mark + " to be in force on every event loop");
  }

  @Override
  public void close() {
    consumer.unregister();
  }
}
