package io.muxgate.origin;

import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.buffer.impl.BufferImpl;
import io.vertx.core.buffer.impl.VertxHeapByteBuf;
import io.vertx.core.buffer.impl.VertxUnsafeHeapByteBuf;
import io.vertx.core.internal.buffer.BufferInternal;

/**
 * Response body chunks relayed without a copy. A chunk from an HTTP/2 origin stream is a retained slice
 * of the bytes Netty read from the origin; whoever receives it either hands it to a Netty write, which
 * releases it once written, or releases it here. A Vert.x buffer (from Vert.x's client, or a copy) is
 * garbage collected, and both operations take it as well, so every receiver can treat chunks alike.
 *
 * <p>Vert.x's own writers do not release the buffers they are given: {@link #detached} copies a chunk
 * bound for one of them.
 */
public final class Chunks {

  private Chunks() {
  }

  /**
   * A slice keeps alive the whole buffer it was cut from, here a read of up to 64 KiB from the origin, for
   * as long as its client takes to read it: a client that reads nothing keeps a stream window of chunks.
   * A chunk smaller than that buffer by more than this is copied, so held chunks keep at most this many
   * times their bytes: 100-byte events read one by one between another stream's large frames kept 64 KiB
   * each, 650 times their size. Large frames (16 KiB in a 64 KiB read) stay slices.
   */
  private static final int MAX_BYTES_KEPT_PER_BYTE = 8;

  /**
   * A chunk that owns {@code data}'s bytes, valid after {@code data}'s own owner lets it go: a slice of
   * it, or a copy where the slice would keep too much alive. With {@code mayKeepRead} (a response's first
   * chunk and its last) it stays a slice whatever its size, as one or two reads per stream is a bound
   * already: a body of one DATA frame is relayed without a copy.
   */
  static Buffer retained(ByteBuf data, boolean mayKeepRead) {
    ByteBuf whole = data.unwrap();
    if (!mayKeepRead && whole != null && (long) data.readableBytes() * MAX_BYTES_KEPT_PER_BYTE < whole.capacity()) {
      return BufferInternal.buffer(data.copy());
    }
    return BufferInternal.buffer(data.retainedSlice());
  }

  /** The chunk's bytes for a Netty write, which releases them: the chunk is not used after this. */
  public static ByteBuf take(Buffer chunk) {
    ByteBuf bytes = ((BufferImpl) chunk).byteBuf();
    // a Vert.x buffer may be written again (an error body): the write moves a view, not the buffer
    return collected(bytes) ? bytes.slice() : bytes;
  }

  /** Lets the chunk's bytes go, for a chunk that is dropped instead of written. */
  public static void release(Buffer chunk) {
    if (chunk != null) {
      ReferenceCountUtil.release(((BufferImpl) chunk).byteBuf());
    }
  }

  /** The chunk as a garbage-collected buffer, for Vert.x's writers; the chunk is not used after this. */
  public static Buffer detached(Buffer chunk) {
    ByteBuf bytes = ((BufferImpl) chunk).byteBuf();
    if (collected(bytes)) {
      return chunk;
    }
    Buffer copy = Buffer.buffer(bytes.readableBytes()).appendBuffer(chunk);
    bytes.release();
    return copy;
  }

  private static boolean collected(ByteBuf bytes) {
    return bytes instanceof VertxHeapByteBuf || bytes instanceof VertxUnsafeHeapByteBuf;
  }
}
