package io.muxgate.support;

import io.vertx.core.Future;

import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** A bounded poll for state that has no event to wait on (counters kept by servers under test). */
public final class Await {

  public static final long DEFAULT_TIMEOUT_MS = 20_000;

  private Await() {
  }

  public static void until(BooleanSupplier condition, String what) {
    until(condition, DEFAULT_TIMEOUT_MS, what);
  }

  public static void until(BooleanSupplier condition, long timeoutMs, String what) {
    long deadline = System.nanoTime() + timeoutMs * 1_000_000;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeoutMs + " ms waiting for " + what);
      }
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting for " + what);
      }
    }
  }

  /** The future's result, failing the test if it fails or takes longer than {@code seconds}. */
  public static <T> T result(Future<T> future, long seconds) {
    try {
      return future.await(seconds, TimeUnit.SECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new AssertionError("no result within " + seconds + " s", e);
    }
  }

  public static <T> T result(Future<T> future) {
    return result(future, 30);
  }
}
