package io.muxgate.origin;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientConnection;
import io.vertx.core.http.HttpConnectOptions;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.internal.ContextInternal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The connections of one {@link OriginPeer}, shared by every event loop. It opens a connection only when
 * every open connection is at its stream cap and the connections already opening cannot absorb the
 * waiting requests either, which is what keeps a 250-request burst at cap 100 to exactly 3 connections
 * (Vert.x's own pool opens one per request that finds no established connection with room).
 *
 * <p>All state sits behind this object's monitor; the critical sections only count. Futures are
 * completed outside the lock, on the requester's own context.
 */
public final class OriginPool {

  /** Requests that may wait for a connection beyond what open and opening connections can take. */
  static final int MAX_WAITERS = 4096;
  private static final long MAX_STREAMS_UNSET = 0xFFFFFFFFL;

  private final OriginPeer peer;
  private final HttpClientAgent client;
  private final HttpConnectOptions connectOptions;
  private final PoolEvents events;

  private final List<OriginConnection> connections = new ArrayList<>();
  private final ArrayDeque<Promise<Lease>> waiters = new ArrayDeque<>();
  private int opening;
  private int expectedCapacity;
  private boolean retired;

  OriginPool(OriginPeer peer, HttpClientAgent client, HttpConnectOptions connectOptions, PoolEvents events) {
    this.peer = peer;
    this.client = client;
    this.connectOptions = connectOptions;
    this.events = events;
    this.expectedCapacity = peer.expectedCapacity();
  }

  public OriginPeer peer() {
    return peer;
  }

  /**
   * A stream slot on some connection, completed on {@code ctx}. Fails with an {@link OriginFailure}
   * (queue full, or the connection attempt failed).
   */
  public Future<Lease> acquire(ContextInternal ctx) {
    Promise<Lease> waiter;
    boolean openOne;
    synchronized (this) {
      for (int i = 0, n = connections.size(); i < n; i++) {
        OriginConnection c = connections.get(i);
        if (c.hasRoom()) {
          c.active++;
          events.streamsChanged(peer, 1);
          return ctx.succeededFuture(new Lease(this, c));
        }
      }
      if (waiters.size() >= MAX_WAITERS) {
        return ctx.failedFuture(new OriginFailure(FailureKind.QUEUE_FULL, "origin queue full"));
      }
      waiter = ctx.promise();
      waiters.add(waiter);
      openOne = needsAnotherConnection();
      if (openOne) {
        opening++;
      }
    }
    if (openOne) {
      connect();
    }
    return waiter.future();
  }

  /** Whether the queued requests exceed what the connections being opened are expected to carry. */
  private boolean needsAnotherConnection() {
    return waiters.size() > (long) opening * expectedCapacity
      && connections.size() + opening < peer.maxConnections();
  }

  private void connect() {
    Future<HttpClientConnection> future;
    try {
      future = client.connect(connectOptions);
    } catch (RuntimeException e) {
      connectFailed(OriginFailure.ofConnect(e, peer.address().scheme().tls()));
      return;
    }
    future.onComplete(ar -> {
      if (ar.succeeded()) {
        connected(ar.result());
      } else {
        connectFailed(OriginFailure.ofConnect(ar.cause(), peer.address().scheme().tls()));
      }
    });
  }

  private void connected(HttpClientConnection connection) {
    String protocol;
    long originLimit;
    try {
      originLimit = connection.remoteSettings().getMaxConcurrentStreams();
      protocol = "h2";
    } catch (UnsupportedOperationException http1) {
      originLimit = 1;
      protocol = "http/1.1";
    }
    OriginConnection origin = new OriginConnection(connection, protocol, capacity(protocol, originLimit));
    connection.closeHandler(v -> closed(origin));
    connection.shutdownHandler(v -> drain(origin));
    if (protocol.equals("h2")) {
      connection.remoteSettingsHandler(settings -> settingsChanged(origin, settings));
    }
    events.connectionOpened(peer, protocol);
    List<Promise<Lease>> granted;
    boolean closeNow;
    synchronized (this) {
      opening--;
      expectedCapacity = Math.max(1, origin.capacity);
      connections.add(origin);
      closeNow = retired && waiters.isEmpty();
      granted = grant(origin);
    }
    complete(origin, granted);
    if (closeNow) {
      drain(origin);
    }
    openMoreIfNeeded();
  }

  private int capacity(String protocol, long originLimit) {
    if (!protocol.equals("h2")) {
      return 1;
    }
    long limit = originLimit <= 0 || originLimit >= MAX_STREAMS_UNSET ? Long.MAX_VALUE : originLimit;
    return (int) Math.min(peer.maxStreams(), limit);
  }

  private void settingsChanged(OriginConnection origin, Http2Settings settings) {
    List<Promise<Lease>> granted;
    synchronized (this) {
      origin.capacity = capacity(origin.protocol, settings.getMaxConcurrentStreams());
      expectedCapacity = Math.max(1, origin.capacity);
      granted = grant(origin);
    }
    complete(origin, granted);
    openMoreIfNeeded();
  }

  private void connectFailed(OriginFailure failure) {
    List<Promise<Lease>> failed = new ArrayList<>();
    synchronized (this) {
      opening--;
      boolean anyUsable = connections.stream().anyMatch(c -> !c.draining && !c.closed);
      if (!anyUsable) {
        long excess = waiters.size() - (long) opening * expectedCapacity;
        for (long i = 0; i < excess; i++) {
          failed.add(waiters.poll());
        }
      }
    }
    for (Promise<Lease> waiter : failed) {
      waiter.tryFail(failure);
    }
  }

  /** Hands queued requests to {@code origin} up to its capacity. Caller holds the lock. */
  private List<Promise<Lease>> grant(OriginConnection origin) {
    List<Promise<Lease>> granted = null;
    while (origin.hasRoom() && !waiters.isEmpty()) {
      if (granted == null) {
        granted = new ArrayList<>();
      }
      granted.add(waiters.poll());
      origin.active++;
    }
    return granted == null ? List.of() : granted;
  }

  private void complete(OriginConnection origin, List<Promise<Lease>> granted) {
    for (Promise<Lease> waiter : granted) {
      events.streamsChanged(peer, 1);
      if (!waiter.tryComplete(new Lease(this, origin))) {
        release(origin);
      }
    }
  }

  private void openMoreIfNeeded() {
    int toOpen = 0;
    synchronized (this) {
      while (needsAnotherConnection()) {
        opening++;
        toOpen++;
      }
    }
    for (int i = 0; i < toOpen; i++) {
      connect();
    }
  }

  void release(OriginConnection origin) {
    events.streamsChanged(peer, -1);
    List<Promise<Lease>> granted;
    boolean closeNow;
    synchronized (this) {
      origin.active--;
      granted = grant(origin);
      if (origin.active == 0) {
        origin.idleSinceNanos = System.nanoTime();
      }
      closeNow = origin.active == 0 && (origin.draining || retired) && !origin.closed;
    }
    complete(origin, granted);
    if (closeNow) {
      origin.connection.shutdown(0, TimeUnit.SECONDS);
    }
  }

  /** Stops giving {@code origin} new streams; it closes once its last stream is over. */
  void drain(OriginConnection origin) {
    boolean closeNow;
    synchronized (this) {
      origin.draining = true;
      closeNow = origin.active == 0 && !origin.closed;
    }
    if (closeNow) {
      origin.connection.shutdown(0, TimeUnit.SECONDS);
    }
    openMoreIfNeeded();
  }

  private void closed(OriginConnection origin) {
    boolean lastOfRetired;
    synchronized (this) {
      origin.closed = true;
      connections.remove(origin);
      lastOfRetired = retired && connections.isEmpty() && opening == 0 && waiters.isEmpty();
    }
    events.connectionClosed(peer, origin.protocol);
    if (lastOfRetired) {
      client.close();
    } else {
      openMoreIfNeeded();
    }
  }

  /** Closes connections that carried no stream for the zone's idle timeout. */
  void closeIdle(long nowNanos) {
    long limit = TimeUnit.SECONDS.toNanos(peer.idleTimeoutSeconds());
    List<OriginConnection> idle = null;
    synchronized (this) {
      for (OriginConnection c : connections) {
        if (c.active == 0 && !c.closed && nowNanos - c.idleSinceNanos >= limit) {
          c.draining = true;
          if (idle == null) {
            idle = new ArrayList<>();
          }
          idle.add(c);
        }
      }
    }
    if (idle != null) {
      for (OriginConnection c : idle) {
        c.connection.shutdown(0, TimeUnit.SECONDS);
      }
    }
  }

  /**
   * Takes the pool out of service after a config change: requests still arriving from an event loop
   * that has not swapped yet are served, every connection closes once idle, and the client closes with
   * the last connection.
   */
  void retire() {
    List<OriginConnection> idle = new ArrayList<>();
    boolean empty;
    synchronized (this) {
      retired = true;
      for (OriginConnection c : connections) {
        if (c.active == 0) {
          c.draining = true;
          idle.add(c);
        }
      }
      empty = connections.isEmpty() && opening == 0;
    }
    idle.forEach(c -> c.connection.shutdown(0, TimeUnit.SECONDS));
    if (empty) {
      client.close();
    }
  }

  public synchronized int openConnections() {
    return connections.size();
  }

  public synchronized int activeStreams() {
    int sum = 0;
    for (OriginConnection c : connections) {
      sum += c.active;
    }
    return sum;
  }
}
