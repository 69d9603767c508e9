package io.muxgate.origin;

import io.netty.channel.Channel;
import io.netty.handler.codec.http2.Http2Connection;
import io.vertx.core.http.HttpClientConnection;
import io.vertx.core.internal.ContextInternal;

import java.util.concurrent.TimeUnit;

/**
 * One connection to an origin with the bookkeeping the pool needs. Every mutable field is guarded by
 * the owning {@link OriginPool}'s lock, except {@link #firstGoAwayLastStreamId}, which the connection's
 * event loop writes before Vert.x fails the streams above it, and the count of resets sent.
 */
final class OriginConnection {

  static final int NO_GOAWAY = -1;
  /**
   * Stream resets the proxy sends on one connection within {@link #RESET_WINDOW_NANOS} before it takes it
   * out of service. Servers guard against Rapid Reset (CVE-2023-44487) by ending a connection that resets
   * too many streams: Netty's default, hence Vert.x's and many Java origins', is 200 in 30 seconds, and it
   * counts every RST_STREAM, NO_ERROR included. A proxy resets on behalf of every client that leaves, all
   * over a few connections; drained at half that allowance, a connection closes when its streams are done
   * instead of being cut with them in flight.
   */
  static final int RESET_BUDGET = 100;
  static final long RESET_WINDOW_NANOS = 30_000_000_000L;
  private static final long MAX_STREAMS_UNSET = 0xFFFFFFFFL;

  final HttpClientConnection connection;
  /** The socket under {@link #connection}, null if out of reach. */
  private final Channel channel;
  /** Netty's HTTP/2 state under the connection, null for HTTP/1.1 or if out of reach. */
  private final Http2Connection http2;
  /** Muxgate's own streams on the HTTP/2 codec, null for HTTP/1.1 or if out of reach. */
  final FrameStreams frames;
  /** The connection's own event loop: PINGs must be sent from it (see {@link ConnectionLiveness#ping}). */
  final ContextInternal context;
  final String protocol;
  final int localPort;
  int capacity;
  int active;
  /** Streams this connection was given in all. */
  long leased;
  /**
   * Streams it may be given in all: what the origin was seen to serve per connection before its GOAWAY
   * ({@link ConnectionSet#goAwayAfter}), unbounded until then.
   */
  long streamBudget = Long.MAX_VALUE;
  /** Streams that ended on this connection; a lease granted after one is on a reused connection. */
  long finished;
  boolean draining;
  /** Streams the origin refused in a row on this connection (REFUSED_STREAM); a served one resets it. */
  int refusedInARow;
  /** A graceful close (GOAWAY, then close once idle) was asked for. */
  boolean closing;
  boolean closed;
  long idleSinceNanos;
  /**
   * HTTP/1.1: how long the connection may stay idle and still be used, from the idle timeout the origin
   * announced less a margin; {@link Long#MAX_VALUE} while it has announced none.
   */
  long reusableIdleNanos = Long.MAX_VALUE;
  /** When the outstanding PING was sent, 0 when none is outstanding. */
  long pingSentNanos;
  /** Last sign of life: connected, a stream ended, or a PING was acknowledged. */
  long lastAliveNanos;
  /** PINGs sent since the connection last carried a stream (see {@link ConnectionLiveness#MAX_IDLE_PINGS}). */
  int idlePings;
  /** From Vert.x's goAwayHandler, which reports only an origin's first GOAWAY. */
  volatile int firstGoAwayLastStreamId = NO_GOAWAY;
  /** Start of the current window of resets sent, and how many it holds; guarded by this object's lock. */
  private long resetWindowStart;
  private int resetsInWindow;

  OriginConnection(HttpClientConnection connection, Channel channel, Http2Connection http2, FrameStreams frames,
                   ContextInternal context, String protocol, int capacity) {
    this.connection = connection;
    this.channel = channel;
    this.http2 = http2;
    this.frames = frames;
    this.context = context;
    this.protocol = protocol;
    this.capacity = capacity;
    this.localPort = connection.localAddress() != null ? connection.localAddress().port() : -1;
    this.idleSinceNanos = System.nanoTime();
    this.lastAliveNanos = idleSinceNanos;
  }

  /**
   * Streams a connection may carry at once: one for HTTP/1.1; for HTTP/2 the zone's cap, lowered by the
   * origin's SETTINGS_MAX_CONCURRENT_STREAMS when it sent one.
   */
  static int capacity(String protocol, long originLimit, int zoneCap) {
    if (!protocol.equals("h2")) {
      return 1;
    }
    long limit = originLimit <= 0 || originLimit >= MAX_STREAMS_UNSET ? Long.MAX_VALUE : originLimit;
    return (int) Math.min(zoneCap, limit);
  }

  boolean hasRoom() {
    return !draining && !closing && !closed && active < capacity;
  }

  /** Gives it one more stream; the last of its {@link #streamBudget} drains it. Caller holds the pool's lock. */
  void lease() {
    active++;
    if (++leased >= streamBudget) {
      draining = true;
    }
  }

  /**
   * Last-stream-id of the latest GOAWAY from the origin, or {@link #NO_GOAWAY}. An origin that drains in
   * two steps (RFC 9113 §6.8: first 2^31-1, then the real last stream) sends a second, lower one, and
   * only Netty's state has it; Vert.x's first one is the fallback. Called on a stream's loop once Vert.x
   * failed the stream; Netty updated the value on the connection's loop before closing the streams.
   */
  int goAwayLastStreamId() {
    Http2Connection netty = http2;
    if (netty != null && netty.goAwayReceived()) {
      return netty.local().lastStreamKnownByPeer();
    }
    return firstGoAwayLastStreamId;
  }

  /** Counts a stream reset sent on this connection; true exactly when it spends the {@link #RESET_BUDGET}. */
  synchronized boolean resetSent(long nowNanos) {
    if (resetsInWindow == 0 || nowNanos - resetWindowStart >= RESET_WINDOW_NANOS) {
      resetWindowStart = nowNanos;
      resetsInWindow = 0;
    }
    return ++resetsInWindow == RESET_BUDGET;
  }

  /** Marks a close as started; false if one already was. Caller holds the pool's lock. */
  boolean startClosing() {
    if (closing || closed) {
      return false;
    }
    closing = true;
    return true;
  }

  /** GOAWAY, then close: the origin sees a clean goodbye rather than a reset socket. */
  void closeGracefully() {
    connection.shutdown(0, TimeUnit.SECONDS);
  }

  /**
   * Closes the socket now, dropping whatever is still unsent. Vert.x's own close first flushes what it
   * holds, and waits for that forever when the origin has stopped reading, leaving the socket open.
   */
  void abort() {
    if (channel != null) {
      SocketTuning.abort(channel);
    } else {
      context.runOnContext(v -> connection.close());
    }
  }

  /** Whether the origin may close this connection by now, as idle as it is (its Keep-Alive timeout). */
  boolean idlePastOriginsTimeout(long nowNanos) {
    return reusableIdleNanos != Long.MAX_VALUE && active == 0 && nowNanos - idleSinceNanos >= reusableIdleNanos;
  }

  boolean isH2() {
    return "h2".equals(protocol);
  }
}
