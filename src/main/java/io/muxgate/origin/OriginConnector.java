package io.muxgate.origin;

import io.muxgate.config.OriginAddress.Scheme;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientConnection;
import io.vertx.core.http.HttpConnectOptions;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.internal.logging.Logger;
import io.vertx.core.internal.logging.LoggerFactory;
import io.vertx.core.net.SocketAddress;

import java.util.concurrent.TimeUnit;

/**
 * How an {@link OriginPool} gets a connection to its peer: Vert.x's client connects (TCP, TLS, ALPN,
 * h2c) to the origin's addresses ({@link OriginAddresses}) in turn; {@link AddressAttempts} bounds the
 * whole setup, closes the sockets of setups it gave up on ({@link AbandonedSetups}) and classifies what
 * went wrong. For an {@code http://} origin offered
 * h2c by Upgrade it also notices the origin refusing the Upgrade and connects with HTTP/1.1 alone: for
 * good when the origin answered the Upgrade in HTTP/1.1 or with a 101 to another protocol, for a while when
 * it closed the connection on it.
 */
final class OriginConnector {

  private static final Logger log = LoggerFactory.getLogger(OriginConnector.class);

  private final OriginPeer peer;
  private final Vertx vertx;
  private final HttpClientAgent client;
  private final HttpConnectOptions options;
  private final AbandonedSetups abandoned;
  private final OriginAddresses addresses;
  /**
   * After the origin closed the connection on the Upgrade, HTTP/1.1 alone for this long, doubled at each
   * such close in a row: an HTTP/1.x server that drops every Upgrade costs one probe now and then, while
   * an h2c origin that closed a connection in passing (a restart) gets HTTP/2 back within seconds.
   */
  static final long FIRST_RETRY_NANOS = TimeUnit.SECONDS.toNanos(2);
  static final long MAX_RETRY_NANOS = TimeUnit.MINUTES.toNanos(10);
  /** How Netty's HttpClientUpgradeHandler begins the failure of a 101 to a protocol other than the one asked for. */
  private static final String UNEXPECTED_SWITCH = "Switching Protocols response with unexpected UPGRADE protocol";

  /** An {@code http://} origin offered h2c by Upgrade, until it refuses. */
  private final boolean h2cUpgrade;
  /** The HTTP/1.1-only client used once the origin refused h2c; null before. */
  private HttpClientAgent http1Only;
  /** The origin answered the Upgrade in HTTP/1.1, or switched to another protocol: it takes no h2c, and is not asked again. */
  private boolean refused;
  /** After a close on the Upgrade: HTTP/1.1 alone until this {@link System#nanoTime()}; its period. */
  private long http1UntilNanos;
  private long retryNanos;
  /**
   * A connection asks for the Upgrade again after an HTTP/1.1 period: until it serves a request
   * ({@link #servedAfterUpgrade}) or fails, the others open without it, so that an origin that ends each
   * upgraded connection at once costs one connection's streams per period, not every opening one's.
   */
  private boolean probing;
  /** The probe's connection once it is open, until it serves a request or closes. */
  private HttpClientConnection probe;

  OriginConnector(OriginPeer peer, Vertx vertx, HttpClientAgent client, HttpConnectOptions options,
                  PoolEvents events) {
    this.peer = peer;
    this.vertx = vertx;
    this.client = client;
    this.options = options;
    this.h2cUpgrade = peer.address().scheme() == Scheme.HTTP && peer.h2Allowed();
    this.abandoned = new AbandonedSetups(peer, events);
    this.addresses = new OriginAddresses(vertx, options.getServer() instanceof SocketAddress server ? server
      : SocketAddress.inetSocketAddress(peer.address().port(), peer.address().host()));
    abandoned.watch(client);
  }

  /** Where this peer's connections go: shared with its WebSocket upgrades ({@link UpgradeConnector}). */
  OriginAddresses addresses() {
    return addresses;
  }

  /**
   * A connection ready for streams (for HTTP/2, once the origin's first SETTINGS arrived), or an
   * {@link OriginFailure}. It completes on the context that called, which owns the connection's channel.
   */
  Future<HttpClientConnection> connect() {
    HttpClientAgent via;
    boolean asProbe;
    synchronized (this) {
      via = upgradeWithheld() || probing ? http1Only : client;
      asProbe = via == client && http1Only != null;
      probing |= asProbe;
    }
    boolean upgrading = h2cUpgrade && via == client;
    ContextInternal context = ((VertxInternal) vertx).getOrCreateContext();
    Future<HttpClientConnection> setup = new AddressAttempts(peer, context, via, options, addresses, abandoned).run();
    if (!upgrading) {
      return setup;
    }
    Promise<HttpClientConnection> ready = Promise.promise();
    setup.onComplete(ar -> {
      if (ar.succeeded()) {
        if (!isH2(ar.result())) {
          // Upgrade refused. Many HTTP/1.x servers refuse by closing the connection (HTTP/1.0 ones
          // close after every response): this one may be dead already, the next will not need it.
          ar.result().close();
          refusedUpgrade("HTTP/1.1");
          connect().onComplete(ready);
        } else {
          if (asProbe) {
            synchronized (this) {
              probe = ar.result();
            }
          }
          ready.complete(ar.result());
        }
      } else if (((OriginFailure) ar.cause()).kind() == FailureKind.UNPROCESSED) {
        closedOnUpgrade();
        connect().onComplete(ready);
      } else if (switchedToAnotherProtocol(ar.cause())) {
        // Only Vert.x's preflight OPTIONS carried the Upgrade: no request of a client was sent yet.
        refusedUpgrade("a 101 to another protocol");
        connect().onComplete(ready);
      } else {
        synchronized (this) {
          probing = false;
        }
        ready.fail(ar.cause());
      }
    });
    return ready.future();
  }

  /**
   * From now on connects with HTTP/1.1 alone, without the h2c Upgrade (and the request that carries it)
   * that the origin would not take. For the pool's life: a zone change that touches the origin makes a
   * new pool, which asks again.
   */
  private void refusedUpgrade(String answer) {
    synchronized (this) {
      if (refused) {
        return;
      }
      refused = true;
      http1Client();
    }
    log.info("origin " + peer.address() + " of zone " + peer.zone() + " answered the h2c Upgrade with " + answer
      + ": HTTP/1.1 from now on");
  }

  /**
   * Whether the Upgrade was answered with a 101 to a protocol other than h2c (a WebSocket server answering
   * any Upgrade so): an origin that does not do h2c, as one that answers in HTTP/1.1. Netty's upgrade
   * handler says so with this exception alone, which Vert.x hands on as the connect's failure.
   */
  static boolean switchedToAnotherProtocol(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof IllegalStateException && t.getMessage() != null
        && t.getMessage().startsWith(UNEXPECTED_SWITCH)) {
        return true;
      }
    }
    return false;
  }

  /**
   * The origin closed the connection on the Upgrade: an HTTP/1.x server that drops Upgrades, or an h2c
   * one that closed it in passing (restarting, shedding load). HTTP/1.1 alone for a while, then the
   * Upgrade once more. A close from a probe that began before the current period does not lengthen it.
   * Also for a GOAWAY that lets no stream after the Upgrade's own be served ({@link OriginPool#goAwayReceived}).
   */
  void closedOnUpgrade() {
    long period;
    synchronized (this) {
      probing = false;
      probe = null;
      if (upgradeWithheld()) {
        return;
      }
      retryNanos = retryNanos == 0 ? FIRST_RETRY_NANOS : Math.min(2 * retryNanos, MAX_RETRY_NANOS);
      period = retryNanos;
      http1UntilNanos = System.nanoTime() + period;
      http1Client();
    }
    String message = "origin " + peer.address() + " of zone " + peer.zone() + " closed the connection on the h2c "
      + "Upgrade: HTTP/1.1 for " + TimeUnit.NANOSECONDS.toSeconds(period) + " s, then the Upgrade again";
    if (period == FIRST_RETRY_NANOS) {
      log.info(message);
    } else {
      log.debug(message);
    }
  }

  /**
   * Whether the origin, spoken to in HTTP/1.1 since it closed a connection on the Upgrade, is to be asked
   * for it again: the period is over, no probe is under way, and none has shown it refuses for good.
   */
  boolean upgradeDue() {
    if (!h2cUpgrade) {
      return false;
    }
    synchronized (this) {
      return http1Only != null && !upgradeWithheld() && !probing;
    }
  }

  /** Connections go without the Upgrade now: the origin refused it for good, or a close's period runs. */
  private synchronized boolean upgradeWithheld() {
    return http1Only != null && (refused || System.nanoTime() - http1UntilNanos < 0);
  }

  /**
   * An upgraded connection served a request: after a close on the Upgrade, the next close starts from
   * the first period. Not on the Upgrade's answer alone: Apache's mod_http2 answers it in HTTP/2, then
   * ends the connection before any other request.
   */
  void servedAfterUpgrade() {
    synchronized (this) {
      probing = false;
      probe = null;
      if (retryNanos == 0) {
        return;
      }
      retryNanos = 0;
    }
    log.info("origin " + peer.address() + " of zone " + peer.zone() + " took the h2c Upgrade: HTTP/2 again");
  }

  /** An upgraded connection closed: if it was the probe, unserved, the next connection asks again. */
  synchronized void upgradedConnectionClosed(HttpClientConnection connection) {
    if (connection == probe) {
      probe = null;
      probing = false;
    }
  }

  private void http1Client() {
    if (http1Only == null) {
      http1Only = OriginClients.createClient(vertx, OriginClients.http1Options(peer), OriginClients.unpooled());
      abandoned.watch(http1Only);
    }
  }

  static boolean isH2(HttpClientConnection connection) {
    try {
      connection.remoteSettings();
      return true;
    } catch (UnsupportedOperationException http1) {
      return false;
    }
  }

  HttpClientAgent client() {
    return client;
  }

  /** Closes the clients; connections they opened that are still open close with them. */
  Future<Void> close() {
    HttpClientAgent fallback;
    synchronized (this) {
      fallback = http1Only;
    }
    return Future.join(OriginClients.close(vertx, client),
      fallback == null ? Future.succeededFuture() : OriginClients.close(vertx, fallback)).mapEmpty();
  }
}
