package io.muxgate.origin;

import io.muxgate.config.OriginAddress.Scheme;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientConnection;
import io.vertx.core.http.HttpConnectOptions;
import io.vertx.core.internal.logging.Logger;
import io.vertx.core.internal.logging.LoggerFactory;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * How an {@link OriginPool} gets a connection to its peer: Vert.x's client connects (TCP, TLS, ALPN,
 * h2c), this bounds the whole setup and classifies what went wrong. For an {@code http://} origin offered
 * h2c by Upgrade it also notices the origin refusing the Upgrade and connects with HTTP/1.1 alone from
 * then on.
 */
final class OriginConnector {

  private static final Logger log = LoggerFactory.getLogger(OriginConnector.class);

  private final OriginPeer peer;
  private final Vertx vertx;
  private final HttpClientAgent client;
  private final HttpConnectOptions options;
  /** An {@code http://} origin offered h2c by Upgrade, until it refuses. */
  private final boolean h2cUpgrade;
  /** The HTTP/1.1-only client used once the origin refused h2c; null before. */
  private HttpClientAgent http1Only;

  OriginConnector(OriginPeer peer, Vertx vertx, HttpClientAgent client, HttpConnectOptions options) {
    this.peer = peer;
    this.vertx = vertx;
    this.client = client;
    this.options = options;
    this.h2cUpgrade = peer.address().scheme() == Scheme.HTTP && peer.h2Allowed();
  }

  /**
   * A connection ready for streams (for HTTP/2, once the origin's first SETTINGS arrived), or an
   * {@link OriginFailure}. It completes on the context that called, which owns the connection's channel.
   */
  Future<HttpClientConnection> connect() {
    boolean tls = peer.address().scheme().tls();
    HttpClientAgent via;
    synchronized (this) {
      via = http1Only != null ? http1Only : client;
    }
    boolean probing = h2cUpgrade && via == client;
    Future<HttpClientConnection> future;
    try {
      future = via.connect(options);
    } catch (RuntimeException e) {
      return Future.failedFuture(OriginFailure.ofPoolConnect(e, tls));
    }
    Promise<HttpClientConnection> ready = Promise.promise();
    // Vert.x bounds TCP connect and the TLS handshake, but waits for an h2 origin's SETTINGS forever.
    AtomicBoolean settled = new AtomicBoolean();
    long deadline = vertx.setTimer(peer.setupDeadlineMillis(), id -> {
      if (settled.compareAndSet(false, true)) {
        ready.fail(new OriginFailure(FailureKind.CONNECT_TIMEOUT, "connection not ready within "
          + peer.setupDeadlineMillis() + " ms"));
      }
    });
    future.onComplete(ar -> {
      vertx.cancelTimer(deadline);
      if (!settled.compareAndSet(false, true)) {
        if (ar.succeeded()) {
          ar.result().close();
        }
      } else if (ar.succeeded()) {
        if (probing && !isH2(ar.result())) {
          // Upgrade refused. Many HTTP/1.x servers refuse by closing the connection (HTTP/1.0 ones
          // close after every response): this one may be dead already, the next will not need it.
          ar.result().close();
          fallBackToHttp1("answered the h2c Upgrade with HTTP/1.1");
          connect().onComplete(ready);
        } else {
          ready.complete(ar.result());
        }
      } else {
        OriginFailure failure = OriginFailure.ofPoolConnect(ar.cause(), tls);
        if (probing && failure.kind() == FailureKind.UNPROCESSED) {
          fallBackToHttp1("closed the connection on the h2c Upgrade");
          connect().onComplete(ready);
        } else {
          ready.fail(failure);
        }
      }
    });
    return ready.future();
  }

  /**
   * From now on connects with HTTP/1.1 alone, without the h2c Upgrade (and the request that carries it)
   * that the origin would not take. For the pool's life: a zone change that touches the origin makes a
   * new pool, which asks again.
   */
  private void fallBackToHttp1(String why) {
    synchronized (this) {
      if (http1Only != null) {
        return;
      }
      http1Only = vertx.createHttpClient(OriginClients.http1Options(peer));
    }
    log.info("origin " + peer.address() + " of zone " + peer.zone() + " " + why + ": HTTP/1.1 from now on");
  }

  static boolean isH2(HttpClientConnection connection) {
    try {
      connection.remoteSettings();
      return true;
    } catch (UnsupportedOperationException http1) {
      return false;
    }
  }

  /** Closes the clients; connections they opened that are still open close with them. */
  Future<Void> close() {
    HttpClientAgent fallback;
    synchronized (this) {
      fallback = http1Only;
    }
    return Future.join(client.close(), fallback == null ? Future.succeededFuture() : fallback.close()).mapEmpty();
  }
}
