package io.muxgate.origin;

import io.vertx.core.Future;
import io.vertx.core.Promise;

import java.util.ArrayList;
import java.util.List;

/**
 * A pool's way out of service, after a config change or at shutdown: in service, then retired (requests
 * still arriving from an event loop that has not swapped yet are served, every connection says GOAWAY and
 * closes once idle), then its client closed with the last connection, which completes the future
 * {@link #retire()} returned.
 */
final class PoolRetirement {

  /** Holds the lock the state here is guarded by. */
  private final OriginPool pool;
  private final ConnectionSet connections;
  private final WaitQueue waiters;
  private final OriginConnector connector;
  private final Promise<Void> closedPromise = Promise.promise();
  private boolean retired;
  private boolean clientClosed;

  PoolRetirement(OriginPool pool, ConnectionSet connections, WaitQueue waiters, OriginConnector connector) {
    this.pool = pool;
    this.connections = connections;
    this.waiters = waiters;
    this.connector = connector;
  }

  /** Whether the pool is out of service, its connections to close once idle. Caller holds the pool's lock. */
  boolean retired() {
    return retired;
  }

  /** Takes the pool out of service; the future completes once its client closed. */
  Future<Void> retire() {
    List<OriginConnection> idleNow = new ArrayList<>();
    synchronized (pool) {
      retired = true;
      for (OriginConnection c : connections.open()) {
        if (c.active == 0 && c.startClosing()) {
          c.draining = true;
          idleNow.add(c);
        }
      }
    }
    idleNow.forEach(OriginConnection::closeGracefully);
    closeClientIfEmpty();
    return closedPromise.future();
  }

  /**
   * Closes the client of a retired pool that has nothing left: no connection, open or opening, and no
   * request waiting for one. True if it did so now.
   */
  boolean closeClientIfEmpty() {
    synchronized (pool) {
      if (!retired || clientClosed || !connections.isEmpty() || connections.opening() > 0 || !waiters.isEmpty()) {
        return false;
      }
      clientClosed = true;
    }
    connector.close().onComplete(ar -> closedPromise.tryComplete());
    return true;
  }
}
