package io.muxgate.support;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import io.vertx.core.streams.WriteStream;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.SplittableRandom;

/**
 * Large bodies for streaming tests without holding them in memory: deterministic pseudo-random
 * chunks written with back-pressure, and a SHA-256 computed chunk by chunk on both ends.
 *
 * <p>A test reads a response by setting its handler ({@link #digest}, {@code body()}, {@code pause()}) in
 * a listener of {@code request.send()} itself, inside the request's {@code compose}, not in a later stage
 * of the outer chain. Vert.x runs a later stage as a task of its own when that stage's future belongs to
 * another context than the response's, and the chunks read together with the response head then reach a
 * response with no handler, which drops them: a short body that ends cleanly. Three tests read that way
 * had rare short bodies in CI while the proxy's record said it had sent every byte.
 */
public final class GeneratedBody {

  public static final int CHUNK_BYTES = 64 * 1024;

  /** What one end saw of a body: its length and SHA-256 in hex. */
  public record Digest(long bytes, String sha256) {
  }

  private GeneratedBody() {
  }

  /**
   * Writes {@code size} bytes generated from {@code seed} to {@code out}, waiting for drain whenever its
   * write queue is full; does not end the stream. Call on the stream's context. The future completes
   * with the digest of everything written once the last chunk is handed over.
   */
  public static Future<Digest> write(WriteStream<Buffer> out, long size, long seed) {
    return writer(out, size, seed).start();
  }

  /** Like {@link #write}, with progress a test can watch from any thread; call {@link Writer#start()}. */
  public static Writer writer(WriteStream<Buffer> out, long size, long seed) {
    return new Writer(out, size, seed);
  }

  /** Digests everything {@code in} delivers until it ends; fails if the stream fails. */
  public static Future<Digest> digest(ReadStream<Buffer> in) {
    Promise<Digest> done = Promise.promise();
    MessageDigest sha = sha256();
    long[] bytes = {0};
    in.exceptionHandler(done::tryFail);
    in.handler(chunk -> {
      bytes[0] += chunk.length();
      sha.update(chunk.getBytes());
    });
    in.endHandler(v -> done.tryComplete(new Digest(bytes[0], HexFormat.of().formatHex(sha.digest()))));
    return done.future();
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Writes generated chunks while the stream accepts them and resumes on drain. */
  public static final class Writer {
    private final WriteStream<Buffer> out;
    private final SplittableRandom random;
    private final MessageDigest sha = sha256();
    private final Promise<Digest> done = Promise.promise();
    private final long size;
    private volatile long written;
    private volatile boolean waitingForDrain;

    private Writer(WriteStream<Buffer> out, long size, long seed) {
      this.out = out;
      this.size = size;
      this.random = new SplittableRandom(seed);
    }

    /** Starts writing; call on the stream's context. */
    public Future<Digest> start() {
      pump();
      return done.future();
    }

    /** Completes with the digest of everything written once the last chunk is handed over. */
    public Future<Digest> result() {
      return done.future();
    }

    /** Bytes handed to the stream so far. */
    public long written() {
      return written;
    }

    /** Whether the stream pushed back and the writer waits for it to drain. */
    public boolean waitingForDrain() {
      return waitingForDrain;
    }

    public boolean finished() {
      return written == size;
    }

    private void pump() {
      waitingForDrain = false;
      while (written < size && !out.writeQueueFull()) {
        byte[] chunk = new byte[(int) Math.min(CHUNK_BYTES, size - written)];
        random.nextBytes(chunk);
        sha.update(chunk);
        written += chunk.length;
        out.write(Buffer.buffer(chunk)).onFailure(done::tryFail);
      }
      if (written < size) {
        waitingForDrain = true;
        out.drainHandler(v -> pump());
      } else {
        done.tryComplete(new Digest(written, HexFormat.of().formatHex(sha.digest())));
      }
    }
  }
}
