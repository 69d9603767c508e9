package io.muxgate.origin;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2LocalFlowController;
import io.netty.handler.codec.http2.Http2Stream;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.StreamResetException;
import io.vertx.core.http.impl.headers.Http2HeadersAdaptor;
import io.vertx.core.internal.buffer.BufferInternal;

/**
 * One request/response exchanged with an origin as HTTP/2 frames on a {@link FrameStreams} connection.
 * Its state lives on the connection's event loop; the public operations may be called from another
 * loop, and then run on the connection's in the order they were called. The response is checked as
 * Vert.x's client would check it (a three-digit {@code :status}, headers before data, trailers that end
 * the stream); a response that breaks those rules resets the stream and fails it as an invalid response.
 *
 * <p>Flow control is the caller's: response bytes are returned to the origin's window only through
 * {@link #consume}, once the client side has taken them; a request body stops at {@link Sink#onBlocked}
 * until {@link Sink#onWritable}.
 */
public final class FrameStream implements OriginStream {

  /** What Netty's encoder holds as the limit of an origin that sent no SETTINGS_MAX_HEADER_LIST_SIZE. */
  private static final long UNLIMITED = Http2CodecUtil.MAX_HEADER_LIST_SIZE;

  private final FrameStreams owner;
  private final Sink sink;
  /** Netty's stream, created when the head is sent: stream ids must reach the origin in order. */
  private Http2Stream stream;
  /** {@link #stream}'s id for other threads, {@link OriginFailure#NO_STREAM} until the head is sent. */
  private volatile int sentId = OriginFailure.NO_STREAM;
  /** The request head until it is sent. */
  private Http2Headers head;
  private boolean responseStarted;
  /** No more events are reported: the response ended, or the stream failed or was reset. */
  private boolean over;
  private boolean blocked;
  /**
   * The response's last event, held until Netty has closed (or half-closed) the stream, which it does
   * right after the frame that ended it is handled. Reported earlier, it would free the stream's pool
   * slot while the codec still counts the stream against the origin's limit, and a request waiting for
   * that slot on this loop could open a stream the codec refuses.
   */
  private Runnable last;
  /** The last chunk {@link #last} holds, let go if the stream is reset before it goes out. */
  /** A chunk of this response already keeps the whole read it came in: the next small ones are copied. */
  private boolean sliceKept;
  private Buffer heldChunk;
  /** The stream's receive window: it doubles each time the client side has taken half of it, up to the most. */
  private int window = OriginClients.INITIAL_STREAM_WINDOW;
  private int consumedSinceGrowth;

  FrameStream(FrameStreams owner, Http2Headers head, Sink sink) {
    this.owner = owner;
    this.head = head;
    this.sink = sink;
  }

  @Override
  public int sentId() {
    return sentId;
  }

  /**
   * Runs an operation on the connection's loop: at once from there, else queued to it. Queued operations
   * of one stream keep their order, since one thread (the request's) queues them.
   */
  private void onLoop(Runnable operation) {
    if (owner.inLoop()) {
      operation.run();
    } else {
      owner.channel.eventLoop().execute(operation);
    }
  }

  @Override
  public void sendHead() {
    onLoop(() -> {
      if (!over && sendHead(false)) {
        owner.channel.flush();
      }
    });
  }

  /** The codec releases what it writes: it gets a reference of its own to the chunk's bytes. */
  @Override
  public void write(Buffer chunk) {
    ByteBuf bytes = ((BufferInternal) chunk).getByteBuf().retainedDuplicate();
    onLoop(() -> writeOnLoop(bytes));
  }

  private void writeOnLoop(ByteBuf chunk) {
    if (over || !sendHead(false)) {
      chunk.release();
      return;
    }
    owner.handler.encoder().writeData(owner.ctx, stream.id(), chunk, 0, false, owner.quiet);
    owner.channel.flush();
    if (!blocked && !isWritable()) {
      blocked = true;
      owner.block(this);
      sink.onBlocked();
    }
  }

  /** With trailers, else the head with END_STREAM if nothing was sent yet, else an empty DATA frame. */
  @Override
  public void end(Http2Headers trailers) {
    onLoop(() -> endOnLoop(trailers));
  }

  private void endOnLoop(Http2Headers trailers) {
    if (over) {
      return;
    }
    if (trailers != null) {
      if (!sendHead(false)) {
        return;
      }
      owner.handler.encoder().writeHeaders(owner.ctx, stream.id(), trailers, 0, true, owner.quiet);
    } else if (head != null) {
      if (!sendHead(true)) {
        return;
      }
    } else {
      owner.handler.encoder().writeData(owner.ctx, stream.id(), Unpooled.EMPTY_BUFFER, 0, true, owner.quiet);
    }
    owner.channel.flush();
  }

  /**
   * Creates the stream and writes its HEADERS if not done yet. False if the connection takes no new
   * stream: the failure is then reported on the next loop turn, not inside the caller's write.
   */
  private boolean sendHead(boolean end) {
    Http2Headers h = head;
    if (h == null) {
      return stream != null;
    }
    head = null;
    long limit = owner.handler.encoder().configuration().headersConfiguration().maxHeaderListSize();
    try {
      if (limit < UNLIMITED && HeaderLists.size(h) > limit) {
        // Netty's encoder would refuse the list as it writes, and the stream would close unexplained.
        throw new OriginFailure(FailureKind.HEADERS_TOO_LARGE_FOR_ORIGIN,
          "request header list over the origin's limit of " + limit + " bytes");
      }
      stream = owner.create(this);
      sentId = stream.id();
    } catch (OriginFailure unopened) {
      over = true;
      owner.channel.eventLoop().execute(() -> sink.onFailure(unopened));
      return false;
    }
    owner.handler.encoder().writeHeaders(owner.ctx, stream.id(), h, 0, end, owner.quiet);
    return true;
  }


  /** No event is reported after this. */
  @Override
  public void reset(long code) {
    onLoop(() -> resetOnLoop(code));
  }

  private void resetOnLoop(long code) {
    over = true;
    head = null;
    last = null;
    Chunks.release(heldChunk);
    heldChunk = null;
    if (stream != null && stream.state() != Http2Stream.State.CLOSED) {
      owner.handler.resetStream(owner.ctx, stream.id(), code, owner.ctx.newPromise());
      owner.channel.flush();
    }
  }

  private boolean isWritable() {
    return stream == null || owner.handler.encoder().flowController().isWritable(stream);
  }

  boolean writableOrGone() {
    return over || stream == null || stream.state() == Http2Stream.State.CLOSED || isWritable();
  }

  void unblocked() {
    blocked = false;
    if (!over) {
      sink.onWritable();
    }
  }

  /** Returns {@code bytes} of response data to the origin's flow-control window. */
  @Override
  public void consume(int bytes) {
    if (bytes > 0) {
      onLoop(() -> consumeOnLoop(bytes));
    }
  }

  private void consumeOnLoop(int bytes) {
    if (stream == null) {
      return;
    }
    try {
      Http2LocalFlowController flow = owner.handler.decoder().flowController();
      boolean update = flow.consumeBytes(stream, bytes);
      consumedSinceGrowth += bytes;
      if (consumedSinceGrowth >= window >> 1 && window < OriginClients.STREAM_WINDOW
        && stream.state() != Http2Stream.State.CLOSED) {
        // A client that reads nothing keeps the window it started with; one that keeps up gets the
        // window a fast download needs, as Go's and gRPC's clients grow theirs.
        int grow = Math.min(window, OriginClients.STREAM_WINDOW - window);
        window += grow;
        consumedSinceGrowth = 0;
        flow.incrementWindowSize(stream, grow);
        update = true;
      }
      if (update) {
        owner.channel.flush();
      }
    } catch (Http2Exception e) {
      // the stream is gone: its bytes went back to the connection window when it closed
    }
  }

  // ---- inbound, from FrameStreams' frame listener --------------------------------------------------

  void onHeaders(Http2Headers headers, boolean end) {
    if (over) {
      return;
    }
    if (responseStarted) {
      if (!end) {
        protocolError("HEADERS in the middle of a response body");
        return;
      }
      over = true;
      last = () -> sink.onResponseTrailers(new Http2HeadersAdaptor(headers));
      return;
    }
    int status = status(headers.status());
    if (status < 0) {
      protocolError("response without a valid :status");
    } else if (status < 200) {
      if (end || status == 101) {
        protocolError("informational response " + status + (end ? " ends the stream" : ""));
      } else {
        sink.onInformational(status, new Http2HeadersAdaptor(headers));
      }
    } else {
      responseStarted = true;
      over = end;
      if (end) {
        last = () -> sink.onResponseHead(status, headers, true);
      } else {
        sink.onResponseHead(status, headers, false);
      }
    }
  }

  /** Returns the bytes to give back to the window at once (the rest is the sink's to {@link #consume}). */
  int onData(ByteBuf data, boolean end) {
    int bytes = data.readableBytes();
    if (over) {
      return bytes;
    }
    if (!responseStarted) {
      protocolError("DATA before the response headers");
      return bytes;
    }
    over = end;
    // No copy as a rule: the chunk keeps its slice of the connection's read buffer until the client side
    // lets it go. A small chunk between the stream's first and its last is copied (Chunks#retained): a
    // body of one DATA frame and an empty END_STREAM, as Node sends 1 KiB, is relayed without a copy.
    Buffer chunk = bytes == 0 ? Buffer.buffer() : Chunks.retained(data, end || !sliceKept);
    sliceKept = true;
    if (end) {
      heldChunk = chunk;
      last = () -> {
        heldChunk = null;
        sink.onResponseData(chunk, true);
      };
    } else {
      sink.onResponseData(chunk, false);
    }
    return 0;
  }

  void onReset(long code) {
    if (!over) {
      over = true;
      sink.onFailure(new StreamResetException(code));
    }
  }

  /**
   * Netty closed the stream before its end: the connection closed (the origin's doing, or ours after
   * the codec met a protocol error), a GOAWAY excluded it, or the codec reset it over a stream error.
   */
  void onClosed() {
    if (last != null) {
      onRemoteEnd();
    } else if (!over) {
      over = true;
      boolean connectionGone = !owner.closedOnError()
        && (!owner.channel.isActive() || owner.connection.goAwayReceived());
      sink.onFailure(connectionGone
        ? new HttpClosedException("Connection was closed")
        : new OriginFailure(FailureKind.INVALID_RESPONSE, "stream closed by a protocol error"));
    }
  }

  /** The origin's side of the stream is closed: the held last event goes out. */
  void onRemoteEnd() {
    Runnable event = last;
    if (event != null) {
      last = null;
      event.run();
    }
  }

  private void protocolError(String detail) {
    over = true;
    reset(Http2Error.PROTOCOL_ERROR.code());
    sink.onFailure(new OriginFailure(FailureKind.INVALID_RESPONSE, detail));
  }

  private static int status(CharSequence s) {
    if (s == null || s.length() != 3) {
      return -1;
    }
    int v = 0;
    for (int i = 0; i < 3; i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      v = v * 10 + (c - '0');
    }
    return v >= 100 && v <= 599 ? v : -1; // RFC 9110, section 15: 100..599
  }
}
