package io.muxgate.origin;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientConnection;
import io.vertx.core.http.HttpConnectOptions;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.net.SocketAddress;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One connection's setup to a peer over the addresses {@link OriginAddresses} gives, in the manner of
 * RFC 8305 (Happy Eyeballs): the first address is tried; a connect failure there (refused, unreachable,
 * timed out, a failed TLS handshake or certificate: what would take the origin out of balancing) moves
 * on to the next at once, and an address not ready within the attempt delay gets the next one started
 * beside it. The first connection ready wins; any other that comes ready before the setup deadline is
 * closed. The whole setup, name lookup included, stays within {@link OriginPeer#setupDeadlineMillis()}.
 * With one address (an IP origin, a name with one record) this is exactly one attempt, as before.
 *
 * <p>Each attempt is one of {@link AbandonedSetups}' attempts, so a socket still being set up when its
 * attempt is given up at the deadline is closed as before. Callbacks all run on the context the setup
 * began on, which owns the channels; the monitor guards against a caller outside it.
 */
final class AddressAttempts {

  /** RFC 8305's longest recommended Connection Attempt Delay (section 5). */
  static final long MAX_ATTEMPT_DELAY_MILLIS = 2_000;

  private final OriginPeer peer;
  private final ContextInternal context;
  private final HttpClientAgent client;
  private final HttpConnectOptions options;
  private final OriginAddresses addresses;
  private final AbandonedSetups abandoned;
  private final boolean tls;
  private final Promise<HttpClientConnection> ready = Promise.promise();

  /** The attempts begun and not over, by their {@link AbandonedSetups} number. */
  private final Map<Long, Running> running = new LinkedHashMap<>();
  private List<SocketAddress> order = List.of();
  private int next;
  private long attemptDelayMillis;
  private boolean settled;
  private OriginFailure mostTelling;
  /** An attempt got past the TCP connect (and failed later, in TLS or in what the origin answered). */
  private boolean reached;
  private long deadlineTimer = -1;
  private long delayTimer = -1;

  AddressAttempts(OriginPeer peer, ContextInternal context, HttpClientAgent client, HttpConnectOptions options,
                  OriginAddresses addresses, AbandonedSetups abandoned) {
    this.peer = peer;
    this.context = context;
    this.client = client;
    this.options = options;
    this.addresses = addresses;
    this.abandoned = abandoned;
    this.tls = peer.address().scheme().tls();
  }

  /** A ready connection, or an {@link OriginFailure}; completes on the context. */
  Future<HttpClientConnection> run() {
    synchronized (this) {
      deadlineTimer = context.setTimer(peer.setupDeadlineMillis(), id -> deadline());
    }
    addresses.next(context).onComplete(ar -> {
      if (ar.failed()) {
        fail(OriginFailure.ofPoolConnect(ar.cause(), tls));
        return;
      }
      synchronized (this) {
        order = ar.result();
        attemptDelayMillis = attemptDelayMillis(peer, order.size());
      }
      startNext();
    });
    return ready.future();
  }

  /**
   * How long an address may take to be ready before the next one starts beside it. RFC 8305 races TCP
   * connects with 250 ms; here the race is to a ready connection (TLS and the first SETTINGS included),
   * which takes a few round trips to a distant origin, so its longest delay, 2 s, lest a live but far
   * origin be opened twice. A share of the connect timeout when that is less, so that every address
   * has begun within one connect timeout and each still gets the whole of it: a blackholed address
   * costs the next one its delay, never its chance.
   */
  static long attemptDelayMillis(OriginPeer peer, int addresses) {
    return Math.min(MAX_ATTEMPT_DELAY_MILLIS, peer.connectTimeoutSeconds() * 1000L / Math.max(1, addresses));
  }

  private void startNext() {
    SocketAddress address;
    long attempt;
    synchronized (this) {
      cancelDelay();
      if (settled || next >= order.size()) {
        return;
      }
      address = order.get(next++);
      attempt = abandoned.begin();
      running.put(attempt, new Running(address, System.nanoTime()));
      if (next < order.size()) {
        delayTimer = context.setTimer(attemptDelayMillis, id -> {
          synchronized (this) {
            delayTimer = -1;
          }
          startNext();
        });
      }
    }
    Future<HttpClientConnection> future;
    try {
      future = client.connect(address == options.getServer() ? options
        : new HttpConnectOptions(options).setServer(address));
    } catch (RuntimeException e) {
      failed(attempt, address, OriginFailure.ofPoolConnect(e, tls));
      return;
    }
    future.onComplete(ar -> {
      if (ar.succeeded()) {
        ready(attempt, address, ar.result());
      } else {
        failed(attempt, address, OriginFailure.ofPoolConnect(ar.cause(), tls));
      }
    });
  }

  private void ready(long attempt, SocketAddress address, HttpClientConnection connection) {
    addresses.connected(address);
    boolean givenUp;
    boolean won;
    synchronized (this) {
      givenUp = running.remove(attempt) == null;
      won = !givenUp && !settled;
      if (!givenUp) {
        settled = true;
        cancelDelay();
        cancelDeadlineIfDone();
      }
    }
    if (givenUp) {
      abandoned.cameLate(connection); // ready after the deadline: closed, and counted as abandoned
    } else {
      abandoned.took(attempt, connection);
    }
    if (won) {
      ready.complete(connection);
    } else {
      connection.close(); // too late, or another address was ready first
    }
  }

  private void failed(long attempt, SocketAddress address, OriginFailure failure) {
    synchronized (this) {
      if (running.remove(attempt) == null) {
        // Given up at the deadline; only a failure of the TCP connect itself says the address is dead
        // (the rest may be the close of the abandoned socket).
        if (tcpFailure(failure)) {
          addresses.failed(address);
        }
        return;
      }
    }
    abandoned.ended(attempt, false);
    if (failure.kind().ejectsOrigin()) {
      addresses.failed(address);
    }
    boolean moveOn;
    OriginFailure outcome = null;
    synchronized (this) {
      if (settled) {
        cancelDeadlineIfDone();
        return;
      }
      mostTelling = moreTelling(mostTelling, failure);
      reached |= !tcpFailure(failure) && failure.kind() != FailureKind.UNRESOLVABLE;
      moveOn = failure.kind().ejectsOrigin() && next < order.size();
      if (!failure.kind().ejectsOrigin()) {
        next = order.size(); // the origin itself answered wrong: other addresses would not do better
      }
      if (!moveOn && running.isEmpty()) {
        outcome = mostTelling;
      }
    }
    if (moveOn) {
      startNext();
    } else if (outcome != null) {
      fail(outcome);
    }
  }

  /**
   * The failure that says most of several addresses' failures: one that is not a connect failure (the
   * origin was reached and answered wrong) over a certificate over a TLS handshake over a refusal over
   * an unreachable network over a timeout, the further an attempt got the more it tells; the later of two alike.
   */
  static OriginFailure moreTelling(OriginFailure before, OriginFailure now) {
    return before == null || rank(now) >= rank(before) ? now : before;
  }

  private static int rank(OriginFailure failure) {
    return switch (failure.kind()) {
      case CONNECT_TIMEOUT -> 0;
      case UNRESOLVABLE, UNREACHABLE -> 1;
      case CONNECTION_REFUSED -> 2;
      case TLS_HANDSHAKE -> 3;
      case CERTIFICATE_INVALID -> 4;
      default -> 5;
    };
  }

  private static boolean tcpFailure(OriginFailure failure) {
    FailureKind kind = failure.kind();
    return kind == FailureKind.CONNECTION_REFUSED || kind == FailureKind.CONNECT_TIMEOUT
      || kind == FailureKind.UNREACHABLE;
  }

  /**
   * Vert.x bounds TCP connect and the TLS handshake, but waits for an h2 origin's SETTINGS (or the answer
   * to the h2c Upgrade) for as long as the socket is open: giving up closes the sockets still set up.
   * The deadline is usually past every attempt's connect timeout, but not for a connect begun late (a
   * slow name lookup, a busy event loop, addresses tried in turn): what the failure says comes from what
   * happened. An attempt that got past its TCP connect ({@link #connectedByNow}, or one that failed
   * later) makes it the origin's failure to answer, a 524; none, a 522, as the connect's own timeout
   * would have said. A TLS socket is seen once its handshake is done: one begun less than a connect
   * timeout ago and still in its handshake counts as not connected.
   */
  private void deadline() {
    List<Long> givenUp;
    boolean fail;
    boolean resolved;
    boolean connected;
    synchronized (this) {
      deadlineTimer = -1;
      cancelDelay();
      givenUp = new ArrayList<>(running.keySet());
      connected = reached || (!settled && connectedByNow(running.values()));
      running.clear();
      fail = !settled;
      settled = true;
      resolved = !order.isEmpty();
    }
    // Before the failure, whose handling may begin another attempt and make these sockets look like its.
    for (long attempt : givenUp) {
      abandoned.ended(attempt, true);
    }
    if (fail) {
      long deadlineMs = peer.setupDeadlineMillis();
      ready.fail(!resolved
        ? new OriginFailure(FailureKind.CONNECT_TIMEOUT, "name not resolved within " + deadlineMs + " ms")
        : connected
        ? new OriginFailure(FailureKind.SETUP_TIMEOUT, "connected, but not ready within " + deadlineMs + " ms")
        : new OriginFailure(FailureKind.CONNECT_TIMEOUT, "not connected within " + deadlineMs + " ms"));
    }
  }

  /**
   * Whether one of these attempts, running at the deadline, has got past its TCP connect: its socket is
   * open and waits for the origin, or it has run a whole connect timeout, by whose end Vert.x would have
   * failed a connect not done (a socket may have come and gone since, closed by an origin that sent what
   * Vert.x never makes a failure of). Under the monitor.
   */
  private boolean connectedByNow(Collection<Running> attempts) {
    long now = System.nanoTime();
    long connectTimeoutNanos = TimeUnit.SECONDS.toNanos(peer.connectTimeoutSeconds());
    List<SocketAddress> addresses = new ArrayList<>(attempts.size());
    for (Running attempt : attempts) {
      if (now - attempt.beganNanos() >= connectTimeoutNanos) {
        return true;
      }
      addresses.add(attempt.address());
    }
    return abandoned.unreadySocketTo(addresses);
  }

  /** An attempt under way: where to, and when it began ({@link System#nanoTime()}). */
  private record Running(SocketAddress address, long beganNanos) {
  }

  private void fail(OriginFailure failure) {
    synchronized (this) {
      if (settled) {
        return;
      }
      settled = true;
      cancelDelay();
      cancelDeadlineIfDone();
    }
    ready.fail(failure);
  }

  /** Under the monitor. */
  private void cancelDelay() {
    if (delayTimer != -1) {
      context.owner().cancelTimer(delayTimer);
      delayTimer = -1;
    }
  }

  /** Under the monitor: once settled and no attempt runs, the deadline has nothing left to watch. */
  private void cancelDeadlineIfDone() {
    if (settled && running.isEmpty() && deadlineTimer != -1) {
      context.owner().cancelTimer(deadlineTimer);
      deadlineTimer = -1;
    }
  }
}
