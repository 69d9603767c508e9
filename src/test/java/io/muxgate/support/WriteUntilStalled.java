package io.muxgate.support;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.WriteStream;

import java.util.function.BooleanSupplier;

/**
 * Writes copies of a chunk to a stream until the other end stops taking bytes: its write queue full and no
 * drain for {@link #STALL_MS}. Nothing signals "no more room is coming", so this waits for an absence: too
 * short a wait makes a run skip the stall it is meant to set up (and pass), never fail. Call on the stream's
 * event loop.
 */
public final class WriteUntilStalled {

  /** How long a full write queue must go without a drain to count as stalled. */
  public static final long STALL_MS = 300;
  /** Chunks written in one go before the loop gets to send them. */
  private static final int BURST = 16;

  private final Vertx vertx;
  private final WriteStream<Buffer> stream;
  private final Buffer chunk;
  private final BooleanSupplier going;
  private final Promise<Void> stalled = Promise.promise();

  private WriteUntilStalled(Vertx vertx, WriteStream<Buffer> stream, Buffer chunk, BooleanSupplier going) {
    this.vertx = vertx;
    this.stream = stream;
    this.chunk = chunk;
    this.going = going;
  }

  /**
   * Starts writing {@code chunk} to {@code stream} while {@code going} holds (also after the stall, as the
   * stream drains again); the future completes once the stream has stalled.
   */
  public static Future<Void> start(Vertx vertx, WriteStream<Buffer> stream, Buffer chunk, BooleanSupplier going) {
    WriteUntilStalled writer = new WriteUntilStalled(vertx, stream, chunk, going);
    writer.pump();
    return writer.stalled.future();
  }

  private void pump() {
    if (!going.getAsBoolean()) {
      return;
    }
    for (int i = 0; i < BURST && !stream.writeQueueFull(); i++) {
      stream.write(chunk.copy());
    }
    if (!stream.writeQueueFull()) {
      vertx.runOnContext(v -> pump()); // let the loop send them
      return;
    }
    long[] drains = {0};
    stream.drainHandler(v -> {
      drains[0]++;
      pump();
    });
    long seen = drains[0];
    vertx.setTimer(STALL_MS, id -> {
      if (drains[0] == seen && stream.writeQueueFull()) {
        stalled.tryComplete();
      }
    });
  }
}
