package io.muxgate.frontend;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Stream;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Resets client streams whose request body may still be on its way, and keeps them open to Netty until
 * a PING the client answers shows that it has read the reset: every frame it sent before then was in
 * flight and is dropped, as RFC 9113 section 5.1 asks. Netty's own reset closes the stream at once and
 * answers each such frame with an RST_STREAM(STREAM_CLOSED), which counts against the connection's
 * allowance of resets sent (Netty's MadeYouReset guard): a few uploads answered early would spend it and
 * end the connection with GOAWAY(ENHANCE_YOUR_CALM), taking every other stream on it along.
 *
 * <p>Meanwhile the stream's DATA is read and not given back to its window; closing the stream returns
 * those bytes to the connection's window. A client that never answers the PING has its streams closed
 * after {@link #PATIENCE_SECONDS}. Runs on the connection's event loop.
 */
final class ResetFence {

  /** The PING payload that marks the fence: "mxgfence". */
  private static final long FENCE = 0x6d786766656e6365L;
  private static final long PATIENCE_SECONDS = 10;

  private final Http2ConnectionHandler handler;
  private final ChannelHandlerContext ctx;
  private final ChannelPromise quiet;
  /** Reset before the PING in flight went out; closed once it is answered. */
  private List<Http2Stream> fenced = new ArrayList<>();
  /** Reset after it went out; they wait for the next one. */
  private List<Http2Stream> waiting = new ArrayList<>();
  private boolean pingInFlight;
  /** Counts the PINGs sent, so that a timer knows whether its own is still unanswered. */
  private long pings;

  /** {@code quiet}: the promise for writes nobody waits on, as {@link FrontStreams#quiet}. */
  ResetFence(Http2ConnectionHandler handler, ChannelHandlerContext ctx, ChannelPromise quiet) {
    this.handler = handler;
    this.ctx = ctx;
    this.quiet = quiet;
  }

  /**
   * Sends RST_STREAM({@code code}) for a stream the client may still send on. Only for a stream whose
   * response is fully written ({@code HALF_CLOSED_LOCAL}): nothing of it waits in Netty's flow control,
   * which only Netty's own reset would clear.
   */
  void reset(Http2Stream stream, long code) {
    handler.encoder().frameWriter().writeRstStream(ctx, stream.id(), code, quiet);
    waiting.add(stream);
    if (!pingInFlight) {
      sendPing();
    }
    ctx.flush();
  }

  /** Whether the PING acknowledgement is the fence's; if it is, the streams it fenced are closed. */
  boolean onPingAck(long data) {
    if (data != FENCE || !pingInFlight) {
      return false;
    }
    closeFenced();
    return true;
  }

  private void sendPing() {
    List<Http2Stream> swap = fenced;
    fenced = waiting;
    waiting = swap;
    pingInFlight = true;
    long ping = ++pings;
    handler.encoder().writePing(ctx, false, FENCE, quiet);
    ctx.executor().schedule(() -> {
      if (pingInFlight && pings == ping) {
        closeFenced();
      }
    }, PATIENCE_SECONDS, TimeUnit.SECONDS);
  }

  private void closeFenced() {
    pingInFlight = false;
    for (Http2Stream stream : fenced) {
      if (stream.state() != Http2Stream.State.CLOSED) {
        handler.closeStream(stream, ctx.newSucceededFuture());
      }
    }
    fenced.clear();
    if (!waiting.isEmpty() && ctx.channel().isActive()) {
      sendPing();
      ctx.flush();
    }
  }
}
