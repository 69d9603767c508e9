package io.muxgate.support;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;

import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Makes Netty's leak detector report what it can: its reports come only after collections and allocations. */
public final class LeakReports {

  private LeakReports() {
  }

  /**
   * The detector reports a buffer whose tracker it finds collected without a release, at a later
   * allocation: a few rounds of a collection (awaited through a reference of our own) and allocations.
   */
  public static void flush() throws InterruptedException {
    for (int i = 0; i < 5; i++) {
      ReferenceQueue<Object> queue = new ReferenceQueue<>();
      WeakReference<Object> sentinel = new WeakReference<>(new Object(), queue);
      System.gc();
      assertTrue(queue.remove(10_000) == sentinel, "a collection ran");
      for (int j = 0; j < 100; j++) {
        ByteBuf probe = PooledByteBufAllocator.DEFAULT.directBuffer(64);
        probe.release();
      }
    }
  }
}
