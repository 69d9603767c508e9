package io.muxgate.origin;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * When a pool's idle connections close: after the zone's idle timeout, or a margin before the idle
 * timeout an HTTP/1.1 origin announced for itself; and, from the same periodic sweep, when an idle
 * HTTP/2 connection is PINGed or dropped ({@link ConnectionLiveness}). The decisions run under the pool's
 * lock; closes, drops and PINGs outside it.
 */
final class IdleConnections {

  /** Holds the lock everything here is decided under, and opens replacements for dropped connections. */
  private final OriginPool pool;
  private final ConnectionSet connections;
  private final OriginPeer peer;
  private final ConnectionLiveness liveness;
  /** Some HTTP/1.1 connection's origin announced its idle timeout: {@link OriginPool#acquire} checks for expired ones. */
  private volatile boolean idleTimeoutsAnnounced;

  IdleConnections(OriginPool pool, ConnectionSet connections, OriginPeer peer) {
    this.pool = pool;
    this.connections = connections;
    this.peer = peer;
    this.liveness = new ConnectionLiveness(pool, peer);
  }

  /**
   * An HTTP/1.1 origin announced how long it keeps an idle connection ({@code Keep-Alive: timeout=N}):
   * the pool stops using it a margin before, up to a second, so that no request is sent into the close.
   */
  void originAnnounced(OriginConnection origin, int seconds) {
    long timeout = TimeUnit.SECONDS.toNanos(seconds);
    synchronized (pool) {
      origin.reusableIdleNanos = timeout - Math.min(TimeUnit.SECONDS.toNanos(1), timeout / 2);
      idleTimeoutsAnnounced = true;
    }
  }

  /** Before a stream is chosen: closes the idle connections whose origin may be closing them by now. */
  void closePastOriginsTimeout() {
    if (idleTimeoutsAnnounced) {
      closePastOriginsTimeout(System.nanoTime());
    }
  }

  private void closePastOriginsTimeout(long nowNanos) {
    List<OriginConnection> expired = null;
    synchronized (pool) {
      for (OriginConnection c : connections.open()) {
        if (c.idlePastOriginsTimeout(nowNanos)) {
          c.draining = true;
          if (c.startClosing()) {
            (expired == null ? expired = new ArrayList<>() : expired).add(c);
          }
        }
      }
    }
    if (expired != null) {
      expired.forEach(OriginConnection::closeGracefully);
    }
  }

  /**
   * Periodic upkeep, from {@link OriginPools}' timer: closes connections idle for the zone's idle
   * timeout, PINGs idle HTTP/2 connections and drops those whose PING went unanswered.
   */
  void sweep(long nowNanos) {
    synchronized (pool) {
      if (connections.isEmpty()) {
        return; // most pools of a process with thousands of zones, four times a second
      }
    }
    List<OriginConnection> idle = new ArrayList<>(0);
    List<OriginConnection> dead = new ArrayList<>(0);
    List<OriginConnection> toPing = new ArrayList<>(0);
    long idleLimit = TimeUnit.SECONDS.toNanos(peer.idleTimeoutSeconds());
    synchronized (pool) {
      for (OriginConnection c : connections.open()) {
        if (c.closed) {
          continue;
        }
        if (liveness.pingUnanswered(c, nowNanos)) {
          c.draining = true;
          c.closing = true;
          dead.add(c);
        } else if (c.active == 0
          && (nowNanos - c.idleSinceNanos >= idleLimit || c.idlePastOriginsTimeout(nowNanos))) {
          c.draining = true;
          if (c.startClosing()) {
            idle.add(c);
          }
        } else if (liveness.pingDue(c, nowNanos)) {
          c.pingSentNanos = nowNanos;
          c.idlePings++;
          toPing.add(c);
        }
      }
    }
    idle.forEach(OriginConnection::closeGracefully);
    dead.forEach(liveness::drop);
    toPing.forEach(liveness::ping);
    if (!dead.isEmpty()) {
      pool.openMoreIfNeeded();
    }
  }
}
