package io.muxgate.origin;

import io.muxgate.config.OriginAddress.Scheme;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientConnection;
import io.vertx.core.http.HttpConnectOptions;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.PromiseInternal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The connections of one {@link OriginPeer}, shared by every event loop. It opens a connection only when
 * every open connection is at its stream cap and the connections already opening cannot absorb the
 * waiting requests either, which is what keeps a 250-request burst at cap 100 to exactly 3 connections
 * (Vert.x's own pool opens one per request that finds no established connection with room).
 *
 * <p>Connections come from its {@link OriginConnector}, ready: for HTTP/2 after the origin's first
 * SETTINGS frame, so no stream is ever sent before the origin's limit is known; the limit is re-read
 * whenever the origin sends SETTINGS again. A connection that got GOAWAY, or was
 * found dead by {@link ConnectionLiveness}, takes no new streams and closes after its last one.
 *
 * <p>All state sits behind this object's monitor; the critical sections only count. Futures are
 * completed outside the lock, on the requester's own context. This class orders the steps of each
 * event; what they decide lives with them: which connection a stream goes to and when another opens
 * ({@link ConnectionSet}), how streams become leases ({@link StreamGrants}), how a new connection is
 * wired ({@link ConnectionAdoption}), when idle ones close ({@link IdleConnections}), and how the pool
 * leaves service ({@link PoolRetirement}).
 */
public final class OriginPool {

  static final int MAX_REFUSED_IN_A_ROW = 3;

  private final OriginPeer peer;
  private final OriginConnector connector;
  private final PoolEvents events;
  private final OriginHealth health;
  private final IdleConnections idle;
  private final ConnectionAdoption adoption;

  private final ConnectionSet connections;
  private final WaitQueue waiters;
  private final StreamGrants grants;
  private final PoolRetirement retirement;

  OriginPool(OriginPeer peer, Vertx vertx, HttpClientAgent client, HttpConnectOptions connectOptions,
             PoolEvents events) {
    this.peer = peer;
    this.connector = new OriginConnector(peer, vertx, client, connectOptions, events);
    this.events = events;
    AtomicInteger activeStreams = events.activeStreams(peer);
    this.waiters = new WaitQueue(events.queuedRequests(peer));
    this.grants = new StreamGrants(this, waiters, activeStreams);
    this.connections = new ConnectionSet(peer);
    this.idle = new IdleConnections(this, connections, peer);
    this.adoption = new ConnectionAdoption(this, peer, idle);
    this.retirement = new PoolRetirement(this, connections, waiters, connector);
    this.health = new OriginHealth("origin " + peer.address() + " of zone " + peer.zone(),
      () -> events.originEjected(peer));
  }

  public OriginPeer peer() {
    return peer;
  }

  /** The addresses this pool's connections go to, in its rotation and with its memory of failed ones. */
  OriginAddresses addresses() {
    return connector.addresses();
  }

  /** Passive health, read by the balancer to skip an origin that is down. */
  public OriginHealth health() {
    return health;
  }

  /**
   * A stream slot on some connection, completed on {@code ctx}. Fails with an {@link OriginFailure}
   * (queue full, or the connection attempt failed).
   */
  public Future<Lease> acquire(ContextInternal ctx) {
    return acquire(ctx, null);
  }

  /**
   * {@link #acquire(ContextInternal)} for a request the connection of {@code refused} never processed:
   * another connection takes it, opened for it if none has room and the zone allows one more; the same
   * connection only when no other can be had.
   */
  public Future<Lease> acquire(ContextInternal ctx, Lease refused) {
    OriginConnection avoid = refused == null || refused.pool() != this ? null : refused.origin;
    idle.closePastOriginsTimeout();
    PromiseInternal<Lease> waiter;
    boolean openOne;
    synchronized (this) {
      OriginConnection chosen = connections.choose(ctx.nettyEventLoop(), avoid);
      if (chosen != null) {
        return ctx.succeededFuture(grants.leaseNow(chosen));
      }
      // The bound is on requests beyond what the connections being opened will carry: a cold pool's burst
      // waits for them, and counted in full it was refused while the zone's cap still allowed its streams.
      if (connections.beyondOpening(waiters.size()) >= WaitQueue.CAPACITY) {
        return ctx.failedFuture(new OriginFailure(FailureKind.QUEUE_FULL, "origin queue full"));
      }
      waiter = ctx.promise();
      waiters.add(waiter);
      openOne = connections.needsAnother(waiters.size())
        || avoid != null && connections.mayOpen() && connections.opening() == 0;
      if (openOne) {
        connections.openingStarted();
      }
    }
    if (openOne) {
      connect();
    }
    return waiter.future();
  }

  /**
   * Takes a request that no longer wants a stream (its client went away, or it timed out) off the
   * queue, so that it neither holds a place a live request could have nor makes a connection open for
   * it. {@code waiter} is what {@link #acquire} returned; harmless if it was granted meanwhile.
   */
  public void abandon(Future<Lease> waiter) {
    synchronized (this) {
      waiters.remove(waiter);
    }
  }

  /**
   * Whether {@code waiter} waits for a connection being opened rather than behind full ones: it is among
   * the oldest queued requests, those the connections being opened are expected to carry. The setup's own
   * deadline ({@link OriginPeer#setupDeadlineMillis()}) answers it, with a stream or the setup's failure.
   */
  public boolean awaitsOpening(Future<Lease> waiter) {
    synchronized (this) {
      return connections.opening() > 0 && waiters.amongOldest(waiter, connections.carriedByOpening());
    }
  }

  private void connect() {
    connector.connect().onComplete(ar -> {
      if (ar.succeeded()) {
        connected(ar.result());
      } else {
        connectFailed((OriginFailure) ar.cause());
      }
    });
  }

  private void connected(HttpClientConnection connection) {
    OriginConnection origin = adoption.adopt(connection);
    health.succeeded();
    events.connectionOpened(peer, origin.protocol);
    List<PromiseInternal<Lease>> granted;
    boolean closeNow;
    synchronized (this) {
      connections.opened(origin);
      closeNow = retirement.retired() && waiters.isEmpty();
      granted = grants.grant(origin);
    }
    grants.complete(origin, granted);
    if (closeNow) {
      drain(origin);
    }
    openMoreIfNeeded();
  }

  void settingsChanged(OriginConnection origin, Http2Settings settings) {
    List<PromiseInternal<Lease>> granted;
    synchronized (this) {
      connections.capacityChanged(origin, settings.getMaxConcurrentStreams());
      granted = grants.grant(origin);
    }
    grants.complete(origin, granted);
    openMoreIfNeeded();
  }

  /**
   * A connection attempt failed: the requests waiting for it fail with its failure now, as many as the
   * connections still opening will not carry, each then failing over or answered with its 52x. A request
   * that arrived during the attempt shares its fate too: it would otherwise wait for one more attempt, up
   * to a whole setup deadline longer (an audit saw 19 of 20 requests to a silent origin answered at
   * twice the deadline). Requests that an open connection, full now, will serve as its streams end keep
   * waiting for it.
   */
  private void connectFailed(OriginFailure failure) {
    if (failure.kind() == FailureKind.CERTIFICATE_INVALID || failure.kind() == FailureKind.TLS_HANDSHAKE) {
      // With what the TLS stack said (expired, another name, unknown issuer, an alert), as nginx logs
      // its upstream verify errors: the reason alone sent the operator to openssl to find out which.
      health.failed(System.nanoTime(), failure.reasonWithCause());
    } else if (failure.kind().ejectsOrigin()) {
      health.failed(System.nanoTime(), failure.kind().reason());
    } else if (failure.neverSent()) {
      // Closed while it was being set up: an origin that drops every new connection would otherwise get
      // one per request, each request then retried (a black-box audit saw 139 connections in 0.5 s).
      health.failed(System.nanoTime(), "closed the connection while it was being set up");
    }
    List<PromiseInternal<Lease>> failed = new ArrayList<>();
    synchronized (this) {
      connections.openingFailed();
      if (!connections.anyUsable()) {
        long excess = connections.beyondOpening(waiters.size());
        for (long i = 0; i < excess; i++) {
          failed.add(waiters.poll());
        }
      }
    }
    for (PromiseInternal<Lease> waiter : failed) {
      waiter.tryFail(failure);
    }
    if (!retirement.closeClientIfEmpty()) {
      openMoreIfNeeded();
    }
  }

  void openMoreIfNeeded() {
    int toOpen = 0;
    synchronized (this) {
      while (connections.needsAnother(waiters.size())) {
        connections.openingStarted();
        toOpen++;
      }
    }
    for (int i = 0; i < toOpen; i++) {
      connect();
    }
  }

  /**
   * A stream on {@code origin} is over; {@code refused} if the origin refused it. A connection that
   * refuses {@link #MAX_REFUSED_IN_A_ROW} streams in a row (an origin going away without GOAWAY, or one
   * holding to a lower stream limit than it advertised) is drained: each request would otherwise meet a
   * refusal there before its retry elsewhere.
   */
  void release(OriginConnection origin, boolean refused) {
    grants.ended();
    List<PromiseInternal<Lease>> granted;
    boolean closeNow;
    boolean drainedNow = false;
    boolean firstOnUpgrade;
    synchronized (this) {
      firstOnUpgrade = origin.finished == 0 && origin.isH2() && peer.address().scheme() == Scheme.HTTP;
      origin.refusedInARow = refused ? origin.refusedInARow + 1 : 0;
      // An HTTP/1.1 connection made while an h2c origin was not asked for the Upgrade: retired once it is to
      // be asked again, or the pool would keep it, and HTTP/1.1, for as long as it is reused.
      boolean upgradeDue = !origin.isH2() && connector.upgradeDue();
      if ((origin.refusedInARow >= MAX_REFUSED_IN_A_ROW || upgradeDue) && !origin.draining) {
        origin.draining = true;
        drainedNow = true;
      }
      origin.active--;
      origin.finished++;
      long now = System.nanoTime();
      origin.lastAliveNanos = now;
      origin.idlePings = 0;
      boolean drainingBefore = origin.draining;
      granted = grants.grant(origin);
      // Its stream budget's last stream granted now: the requests still queued need another connection.
      drainedNow |= origin.draining && !drainingBefore;
      if (origin.active == 0) {
        origin.idleSinceNanos = now;
        if (origin.leased >= origin.streamBudget && origin.goAwayLastStreamId() == OriginConnection.NO_GOAWAY) {
          connections.budgetNotKept(origin);
        }
      }
      closeNow = origin.active == 0 && (origin.draining || retirement.retired()) && origin.startClosing();
    }
    grants.complete(origin, granted);
    if (firstOnUpgrade && !refused && origin.goAwayLastStreamId() != 1) {
      connector.servedAfterUpgrade();
    }
    if (closeNow) {
      origin.closeGracefully();
    }
    if (drainedNow) {
      openMoreIfNeeded();
    }
  }

  /**
   * The origin sent {@code origin} GOAWAY with {@code lastStreamId} and {@code errorCode}: it is drained,
   * and a graceful one tells how many streams the origin serves per connection ({@link ConnectionSet#goAwayAfter}).
   */
  void goAwayReceived(OriginConnection origin, int lastStreamId, long errorCode) {
    if (lastStreamId <= 1 && peer.address().scheme() == Scheme.HTTP) {
      // Nothing after the Upgrade's own request will be served here: Apache's mod_http2 ends every
      // connection it upgraded so (GOAWAY "timeout", last-stream-id 1) once that request is answered, and
      // each request of ours sent on it was refused, and on the next one alike, until its attempts ran out.
      connector.closedOnUpgrade();
    }
    if (errorCode == 0) {
      synchronized (this) {
        // Our streams have odd ids from 1, the first an h2c Upgrade's preflight on an http:// origin.
        long streams = (lastStreamId + 1L) / 2;
        connections.goAwayAfter(origin, peer.address().scheme() == Scheme.HTTP ? streams - 1 : streams);
      }
    }
    drain(origin);
  }

  /** Stops giving {@code origin} new streams; it closes once its last stream is over. */
  void drain(OriginConnection origin) {
    boolean closeNow;
    synchronized (this) {
      origin.draining = true;
      closeNow = origin.active == 0 && origin.startClosing();
    }
    if (closeNow) {
      origin.closeGracefully();
    }
    openMoreIfNeeded();
  }

  /**
   * Takes {@code origin} out of service and closes its socket at once, even if a graceful close already
   * started and is stuck behind unsent bytes: for an HTTP/1.x connection whose request was abandoned.
   */
  void abort(OriginConnection origin) {
    synchronized (this) {
      origin.draining = true;
      origin.closing = true;
    }
    origin.abort();
  }

  void closed(OriginConnection origin) {
    synchronized (this) {
      origin.closed = true;
      connections.closed(origin);
    }
    events.connectionClosed(peer, origin.protocol);
    if (origin.isH2() && peer.address().scheme() == Scheme.HTTP) {
      connector.upgradedConnectionClosed(origin.connection);
    }
    if (!retirement.closeClientIfEmpty()) {
      openMoreIfNeeded();
    }
  }

  /** Periodic upkeep, from {@link OriginPools}' timer: see {@link IdleConnections#sweep}. */
  void sweep(long nowNanos) {
    idle.sweep(nowNanos);
  }

  /**
   * Takes the pool out of service after a config change or at shutdown ({@link PoolRetirement}); the
   * future completes once its last connection and its client closed.
   */
  Future<Void> retire() {
    return retirement.retire();
  }

  public synchronized int openConnections() {
    return connections.size();
  }

  /** Requests on this origin: streams in flight and requests queued for one, for balancing. */
  public synchronized int load() {
    return activeStreams() + waiters.size();
  }

  public synchronized int activeStreams() {
    return connections.activeStreams();
  }

  /** The client that opens this pool's connections, for tests that follow its lifetime. */
  HttpClientAgent clientForTest() {
    return connector.client();
  }

  /** The open connections' Vert.x objects, for tests that inspect sockets. */
  synchronized List<HttpClientConnection> connectionsForTest() {
    return connections.open().stream().map(c -> c.connection).toList();
  }
}
