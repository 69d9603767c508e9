package io.muxgate.support;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;

import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Makes Netty's leak detector report what it can: its reports come only after collections and allocations. */
public final class LeakReports {

  /** The leaks each test has been shown, for the whole JVM: see {@link #sinceFirstRun}. */
  private static final Map<String, List<String>> SHOWN = new ConcurrentHashMap<>();

  private LeakReports() {
  }

  /**
   * {@code leaks} with every leak shown to {@code test} before in this JVM. Netty reports one leak trace once
   * per process, so the rerun of a test that failed on a leak (the build reruns failures) would see none
   * and pass, and the leak would count as a mere flake: it fails again instead.
   */
  public static List<String> sinceFirstRun(String test, List<String> leaks) {
    List<String> shown = SHOWN.computeIfAbsent(test, t -> new CopyOnWriteArrayList<>());
    shown.addAll(leaks);
    return List.copyOf(shown);
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
