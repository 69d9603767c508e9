package io.muxgate.origin;

import io.netty.channel.Channel;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientConnection;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpConnectOptions;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.net.impl.ConnectionBase;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * How a WebSocket upgrade to a peer gets the HTTP/1.1 connection it rides, one of its own that no pool
 * keeps once upgraded.
 *
 * <p>An origin given by name has that connection set up as its pool's are ({@link AddressAttempts}): over
 * every address of the name, in the rotation of the pool's own {@link OriginAddresses} and with its memory
 * of addresses that failed, so that tunnels spread over the addresses with the pool's connections, a dead
 * address is tried last by both, and one that does not answer costs the next only its attempt delay. SNI
 * and certificate verification stay those of the name. Such a connection is closed once an answer other
 * than 101 has been read: no pool would ever hand it out again.
 *
 * <p>An origin given as an IP address has one address and nothing to try in turn: its upgrades go through
 * Vert.x's pool of HTTP/1.1 connections as they always did, where a connection answered without a 101
 * carries the next upgrade.
 */
public final class UpgradeConnector {

  /** How long a retired connector waits before it closes its client, should nothing use it then. */
  static final long RETIRE_GRACE_MS = 1_000;

  private final OriginPeer peer;
  /** HTTP/1.1 only: pooled for an IP origin; for a name, {@code connect()} alone, without a pool to clean. */
  private final HttpClientAgent client;
  private final HttpConnectOptions options;
  /** The peer pool's; null for an IP origin. */
  private final OriginAddresses addresses;
  private final AbandonedSetups abandoned;
  /** Where a tunnel's connection is counted, as the pool's connections are. */
  private final PoolEvents events;
  /** The peer pool's: an upgrade's connect failure takes the origin out of balancing as the pool's do. */
  private final OriginHealth health;
  private final Vertx vertx;
  /** Upgrades under way and tunnels open through {@link #client}: a retired connector closes it at none. */
  private final AtomicInteger users = new AtomicInteger();
  private volatile boolean retired;
  private final AtomicBoolean closed = new AtomicBoolean();

  UpgradeConnector(OriginPeer peer, Vertx vertx, OriginAddresses addresses, OriginHealth health, PoolEvents events) {
    this.peer = peer;
    this.health = health;
    this.vertx = vertx;
    this.events = events;
    this.addresses = addresses.named() ? addresses : null;
    this.client = OriginClients.createClient(vertx, OriginClients.upgradeOptions(peer), this.addresses == null
      ? new PoolOptions().setHttp1MaxSize(peer.maxConnections()) : OriginClients.unpooled());
    this.options = OriginClients.connectOptions(peer);
    if (this.addresses == null) {
      this.abandoned = null;
    } else {
      this.abandoned = new AbandonedSetups(peer, events);
      abandoned.watch(client);
    }
  }

  /**
   * The upgrade request, not yet sent, on its own HTTP/1.1 connection to the peer; {@code options} are
   * {@link OriginClients#upgradeRequestOptions}' with the method, URI and headers. Fails with an
   * {@link OriginFailure} when no address could be connected to, which the peer's health is told of.
   */
  public Future<HttpClientRequest> request(ContextInternal context, RequestOptions options) {
    users.incrementAndGet();
    Future<HttpClientRequest> request = addresses == null ? client.request(options)
      : new AddressAttempts(peer, context, client, this.options, addresses, abandoned).run()
        .compose(connection -> connection.request(options)
          .onFailure(e -> connection.close())
          .onSuccess(made -> closeUnlessUpgraded(made, connection)));
    boolean tls = peer.address().scheme().tls();
    return request.recover(t -> Future.failedFuture(OriginFailure.ofConnect(t, tls))).andThen(ar -> {
      if (ar.failed()) {
        leave();
        OriginFailure failure = (OriginFailure) ar.cause();
        if (failure.kind().ejectsOrigin()) {
          health.failed(System.nanoTime(), failure.kind().reason());
        }
      } else {
        health.succeeded();
        countIfUpgraded(ar.result());
      }
    });
  }

  HttpClientAgent clientForTest() {
    return client;
  }

  /**
   * This peer left the config: the client goes once no upgrade is under way through it and no tunnel it
   * opened is open (closing it sooner would close them). Checked again a moment later, past any request
   * that took this connector just before the reload and is about to ask it for a connection.
   */
  void retire() {
    retired = true;
    vertx.setTimer(RETIRE_GRACE_MS, id -> closeIfUnused());
  }

  private void leave() {
    if (users.decrementAndGet() == 0 && retired) {
      closeIfUnused();
    }
  }

  private void closeIfUnused() {
    if (users.get() == 0 && closed.compareAndSet(false, true)) {
      OriginClients.close(vertx, client);
    }
  }

  /**
   * A connection that took the upgrade leaves Vert.x's pool for the tunnel's life: counted open until its
   * socket closes, whichever side closes it, so that {@code muxgate_origin_connections} matches the sockets
   * the process holds to the origin.
   */
  private void countIfUpgraded(HttpClientRequest request) {
    request.response().onComplete(ar -> {
      Channel channel = ar.succeeded() && ar.result().statusCode() == 101 ? channelOf(request.connection()) : null;
      if (channel != null) {
        events.connectionOpened(peer, ConnectionAdoption.HTTP_1_1);
        // Taken off the count it was added to: should the peer's series leave and come back meanwhile (its
        // zone removed and added again), the new one never counted this tunnel.
        AtomicInteger open = events.openConnections(peer, ConnectionAdoption.HTTP_1_1);
        channel.closeFuture().addListener(closed -> {
          open.decrementAndGet();
          leave();
        });
      } else if (ar.succeeded()) {
        // Refused: the connection is closed, not kept. Vert.x never gives one that carried an upgrade back
        // to its pool, so a kept-open refusal held its pool slot and socket for good.
        ar.result().end().onComplete(end -> {
          request.connection().close();
          leave();
        });
      } else {
        leave();
      }
    });
  }

  /**
   * The socket under an upgrade's connection, whichever way it was opened (Vert.x's pool hands out its
   * own connection, {@code connect()} a wrapper of it); null if out of reach.
   */
  public static Channel channelOf(HttpConnection connection) {
    if (connection instanceof ConnectionBase base) {
      return base.channel();
    }
    return connection instanceof HttpClientConnection client ? ConnectionInternals.channelOf(client) : null;
  }

  private static void closeUnlessUpgraded(HttpClientRequest request, HttpClientConnection connection) {
    request.response().onComplete(ar -> {
      if (ar.failed()) {
        connection.close();
      } else if (ar.result().statusCode() != 101) {
        ar.result().end().onComplete(end -> connection.close());
      }
    });
  }
}
