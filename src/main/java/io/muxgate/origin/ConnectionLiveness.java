package io.muxgate.origin;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.logging.Logger;
import io.vertx.core.internal.logging.LoggerFactory;

import java.util.concurrent.TimeUnit;

/**
 * HTTP/2 PING on idle origin connections. Vert.x sends none by itself, so a connection whose origin
 * vanished (host gone, NAT entry expired, process wedged) would sit in the pool until a request
 * failed on it. Each idle HTTP/2 connection is PINGed after {@link OriginPeer#pingIntervalNanos()}
 * without a sign of life, at most {@link #MAX_IDLE_PINGS} times until it carries a stream again; if the
 * ACK has not come {@link OriginPeer#pingTimeoutNanos()} later the connection takes no more streams and
 * is closed, and the next request gets a fresh connection.
 *
 * <p>The decisions run under the pool's lock from {@link IdleConnections#sweep}; sending and dropping run
 * outside it.
 */
final class ConnectionLiveness {

  private static final Logger log = LoggerFactory.getLogger(ConnectionLiveness.class);
  private static final long PING_DATA = 0x6d7578676174654cL; // "muxgateL"
  /**
   * PINGs per idle spell. gRPC servers take a PING on a connection without calls as abuse unless two
   * hours have passed since the last one; they forgive two and answer the third with
   * GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings") and a close (grpc-java and grpc-go both, until they next
   * send a frame of a response). So a connection is checked twice once idle and then left to its idle
   * timeout; a stream on it starts the count again.
   */
  static final int MAX_IDLE_PINGS = 2;

  /** Its lock guards the connections' PING state. */
  private final OriginPool pool;
  private final OriginPeer peer;

  ConnectionLiveness(OriginPool pool, OriginPeer peer) {
    this.pool = pool;
    this.peer = peer;
  }

  /** Whether an outstanding PING on {@code c} is overdue. Caller holds the pool's lock. */
  boolean pingUnanswered(OriginConnection c, long nowNanos) {
    return c.pingSentNanos != 0 && nowNanos - c.pingSentNanos >= peer.pingTimeoutNanos();
  }

  /** Whether {@code c} is an idle HTTP/2 connection due for a PING. Caller holds the pool's lock. */
  boolean pingDue(OriginConnection c, long nowNanos) {
    return c.isH2() && c.active == 0 && c.pingSentNanos == 0 && !c.draining && !c.closing
      && c.idlePings < MAX_IDLE_PINGS && nowNanos - c.lastAliveNanos >= peer.pingIntervalNanos();
  }

  /**
   * Sends the PING from the connection's own event loop: Vert.x 5.0 registers the ACK handler in the
   * write's completion listener, which from another thread can run after the ACK was already read,
   * and the ACK would then be lost.
   */
  void ping(OriginConnection c) {
    c.context.runOnContext(v -> c.connection.ping(Buffer.buffer(8).appendLong(PING_DATA)).onComplete(ar -> {
      if (ar.succeeded()) {
        pingAnswered(c);
      }
      // A failed write means the connection is closing; its close handler does the rest.
    }));
  }

  /** A PING came back: the connection is alive. */
  private void pingAnswered(OriginConnection c) {
    synchronized (pool) {
      c.pingSentNanos = 0;
      c.lastAliveNanos = System.nanoTime();
    }
  }

  /**
   * Closes a connection whose PING went unanswered, at once: a goodbye would wait behind whatever the
   * silent origin has not read. Its streams, if any, fail and may be replayed.
   */
  void drop(OriginConnection c) {
    log.warn("origin " + peer.address() + " (zone " + peer.zone() + ") did not answer a PING within "
      + TimeUnit.NANOSECONDS.toMillis(peer.pingTimeoutNanos()) + " ms; closing connection from local port "
      + c.localPort);
    c.abort();
  }
}
