package io.muxgate.observe;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * JSON lines on stdout, one per request. Event loops only format and enqueue; a dedicated thread does
 * the writing, so a slow stdout (a full pipe, a stalled log shipper) never blocks a request. When the
 * queue is full, lines are dropped and counted rather than stalling traffic.
 */
public final class AccessLog implements ExchangeObserver, AutoCloseable {

  private static final int QUEUE_CAPACITY = 65_536;
  private static final String STOP = "";
  private static final String HEX = "0123456789ABCDEF";

  private final BlockingQueue<String> queue = new ArrayBlockingQueue<>(QUEUE_CAPACITY);
  private final AtomicLong dropped = new AtomicLong();
  private final OutputStream out;
  private final Thread writer;

  public AccessLog() {
    this(new FileOutputStream(FileDescriptor.out));
  }

  AccessLog(OutputStream sink) {
    this.out = new BufferedOutputStream(sink, 64 * 1024);
    this.writer = new Thread(this::drain, "muxgate-access-log");
    writer.setDaemon(true);
    writer.start();
  }

  @Override
  public void completed(ExchangeRecord r) {
    JsonObject line = new JsonObject()
      .put("time", Instant.ofEpochMilli(r.startMillis()).toString())
      .put("zone", r.zone())
      .put("method", r.method())
      .put("path", asSent(r.path()))
      .put("status", r.status())
      .put("duration_ms", Math.round(r.durationNanos() / 10_000.0) / 100.0)
      .put("client_protocol", r.clientProtocol())
      .put("client", r.clientAddress())
      .put("host", r.host() != null ? r.host().toString() : null)
      .put("origin", r.origin() != null ? r.origin().toString() : null)
      .put("origin_protocol", r.originProtocol())
      .put("origin_local_port", r.originLocalPort() >= 0 ? r.originLocalPort() : null)
      .put("origin_status", r.originStatus() >= 0 ? r.originStatus() : null)
      .put("bytes_in", r.bytesIn())
      .put("bytes_out", r.bytesOut())
      .put("error", r.error());
    if (r.attempts() > 1) {
      line.put("attempts", r.attempts());
    }
    if (r.originsTried() != null) {
      JsonArray tried = new JsonArray();
      r.originsTried().forEach(origin -> tried.add(origin.toString()));
      line.put("origins_tried", tried);
    }
    if (!queue.offer(line.encode())) {
      dropped.incrementAndGet();
    }
  }

  /**
   * A path as the client sent its bytes. Netty reads a request line, and HPACK strings, one byte to a
   * char, so a raw UTF-8 path ("/café") would show as "/cafÃ©": it is read as UTF-8 again, and bytes that
   * are not UTF-8 are shown percent-encoded. The forwarding side gives it to Vert.x's HTTP/1.1 client, which
   * writes a target as UTF-8: that gives the origin the client's bytes (or their percent-encoding), not
   * each byte transcoded.
   */
  public static String asSent(String path) {
    if (path == null) {
      return null;
    }
    int i = 0;
    while (i < path.length() && path.charAt(i) < 0x80) {
      i++;
    }
    if (i == path.length()) {
      return path;
    }
    byte[] bytes = path.getBytes(StandardCharsets.ISO_8859_1);
    try {
      return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
    } catch (CharacterCodingException notUtf8) {
      StringBuilder shown = new StringBuilder(path.length() + 16);
      for (byte b : bytes) {
        if (b < 0) {
          shown.append('%').append(HEX.charAt((b >> 4) & 0xF)).append(HEX.charAt(b & 0xF));
        } else {
          shown.append((char) b);
        }
      }
      return shown.toString();
    }
  }

  public long dropped() {
    return dropped.get();
  }

  private void drain() {
    try {
      while (true) {
        String line = queue.take();
        do {
          if (line == STOP) {
            out.flush();
            return;
          }
          out.write(line.getBytes(StandardCharsets.UTF_8));
          out.write('\n');
          line = queue.poll();
        } while (line != null);
        out.flush();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      // stdout is gone; nothing left to log to.
    }
  }

  /** Writes what is queued, then stops the writer. */
  @Override
  public void close() {
    try {
      queue.offer(STOP, 1, TimeUnit.SECONDS);
      writer.join(2000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
