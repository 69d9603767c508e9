package io.muxgate.observe;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The process's own health next to the proxy's metrics: JVM memory, GC and threads, CPU, start time and
 * uptime, open and maximum file descriptors (a proxy runs out of those before anything else), and the
 * resident set size, which is what a container's memory limit counts rather than the heap.
 */
public final class ProcessMetrics {

  private static final Path STATUS = Path.of("/proc/self/status");

  private ProcessMetrics() {
  }

  public static void bindTo(MeterRegistry registry) {
    new JvmMemoryMetrics().bindTo(registry);
    new JvmGcMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
    if (Files.isReadable(STATUS)) {
      Gauge.builder("process.resident.memory", ProcessMetrics::residentBytes).baseUnit("bytes")
        .description("Resident set size of the process (VmRSS)").register(registry);
    }
  }

  /** VmRSS from /proc/self/status, read at each scrape; NaN if it cannot be read. */
  private static double residentBytes() {
    try {
      for (String line : Files.readAllLines(STATUS)) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.substring(6).trim().split("\\s+")[0]) * 1024.0;   // in kB
        }
      }
    } catch (IOException | RuntimeException e) {
      // unreadable or not in the format of Linux: no value rather than a wrong one
    }
    return Double.NaN;
  }
}
