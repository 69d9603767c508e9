package io.muxgate.forward;

import io.muxgate.origin.FailureKind;
import io.muxgate.origin.FrameStreams;
import io.muxgate.origin.Lease;
import io.muxgate.origin.OriginFailure;
import io.muxgate.origin.OriginHealth;
import io.muxgate.origin.OriginPool;
import io.muxgate.origin.OriginStream;
import io.muxgate.origin.VertxOriginStream;
import io.muxgate.observe.ExchangeRecord;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.StreamResetException;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.net.HostAndPort;

import java.util.concurrent.TimeUnit;

/**
 * One request carried from a client to an origin and its response carried back, with back-pressure
 * both ways. Every method runs on the client request's event loop, so the state needs no locking.
 *
 * <p>Phases: {@link #start} → {@link #selectOrigin} (pick a pool, lease a stream) → {@link #forwardRequest}
 * → relay the response ({@link ResponseRelay}). The origin side is an {@link OriginStream}: frames on
 * Netty's codec of an HTTP/2 connection ({@link FrameStreams}), or for HTTP/1.1 origins and CONNECT a
 * Vert.x client request. A request the origin provably never processed, or an
 * idempotent one left unanswered by a connection that closed, is attempted once more on
 * another connection, replaying the body kept so far ({@link RequestRelay}); how often is {@link Retries}'.
 *
 * <p>The exchange owns the attempts (pool, lease, origin stream), what a timeout means (the event loop's
 * {@link Deadlines} times its progress), the mapping of failures to a status and the access-log record;
 * what goes to the origin is {@link RequestRelay}'s, what comes back {@link ResponseRelay}'s.
 */
final class Exchange extends Deadlines.Entry implements ResponseRelay.Owner {

  private static final long CANCEL = Http2Error.CANCEL.code();
  private static final long INTERNAL_ERROR = Http2Error.INTERNAL_ERROR.code();

  private final Forwarder forwarder;
  private final Downstream client;
  private final ContextInternal context;
  private final Zone zone;
  private final Zone.Selection selection;
  private final RequestRelay request;
  private final ResponseRelay response;
  private final long readTimeoutNanos;
  /** Bound on waiting for a stream (queued behind full connections, or a connection being opened). */
  private final long streamWaitNanos;
  /**
   * Added to {@link #streamWaitNanos} once, for an attempt found at that bound waiting for a connection
   * being opened: that setup's deadline answers it (0 until then).
   */
  private long setupWaitNanos;
  private final long startNanos = System.nanoTime();
  private final long startMillis = System.currentTimeMillis();

  private OriginPool pool;
  private Lease lease;
  /** The lease of the attempt the origin did not process, until the next attempt: it goes elsewhere. */
  private Lease unprocessedOn;
  /** The stream asked of {@link #pool} while not yet granted: abandoned if the exchange ends first. */
  private Future<Lease> waitingForStream;
  /** The current attempt's origin stream, once opened. */
  private OriginStream origin;
  private int attempts;
  /** The budget and the record of attempts after the first; null until an attempt fails retryably. */
  private Retries retries;
  private boolean originCancelled;
  private boolean done;
  /** The latest attempt's connection, if it got one, for the access log: failures included. */
  private String leasedProtocol;
  private int leasedLocalPort = -1;

  Exchange(Forwarder forwarder, Downstream client, ContextInternal context, Zone zone, Zone.Selection selection,
           MultiMap originHeaders, Http2Headers originHttp2, String originUri, HostAndPort authority) {
    this.forwarder = forwarder;
    this.client = client;
    this.context = context;
    this.zone = zone;
    this.selection = selection;
    this.request = new RequestRelay(this, client, originHeaders, originHttp2, originUri, authority,
      zone.config().settings().maxRequestBodyBytes(), forwarder.heldUploadBytes());
    this.response = new ResponseRelay(client, context, zone, selection, authority, this,
      forwarder.heldResponseBytes());
    this.readTimeoutNanos = zone.config().settings().proxyReadTimeoutSeconds() * 1_000_000_000L;
    this.streamWaitNanos = readTimeoutNanos + zone.config().settings().proxyConnectTimeoutSeconds() * 1_000_000_000L;
  }

  void start() {
    client.pause();
    client.bind(request);
    forwarder.deadlines().track(this);
    selectOrigin();
  }

  // ---- phase: pick a pool and lease a stream ------------------------------------------------------

  /** Starts an attempt: picks a pool (another one after a failover) and asks it for a stream. */
  private void selectOrigin() {
    int attempt = ++attempts;
    progressed();
    setupWaitNanos = 0;
    leasedProtocol = null;
    leasedLocalPort = -1;
    OriginPool previous = pool;
    if (previous != null) {
      retries.leaving(previous.peer().address());
    }
    pool = selection.origins().pick(previous);
    Future<Lease> acquired = pool.acquire(context, unprocessedOn);
    unprocessedOn = null;
    waitingForStream = acquired;
    acquired.onComplete(ar -> {
      waitingForStream = null;
      if (ar.failed()) {
        onOriginFailure(attempt, ar.cause());
      } else if (done) {
        ar.result().release();
      } else {
        lease = ar.result();
        leasedProtocol = lease.protocol();
        leasedLocalPort = lease.localPort();
        openStream(attempt);
      }
    });
  }

  private void openStream(int attempt) {
    OriginStream.Sink events = response.sink(attempt);
    FrameStreams frames = lease.frames();
    // CONNECT has no :path or :scheme in HTTP/2 (RFC 9113 §8.5); Vert.x's client writes it that way.
    if (frames != null && client.method() != HttpMethod.CONNECT) {
      boolean tls = pool.peer().address().scheme().tls();
      OriginStream stream;
      try {
        stream = frames.open(request.http2Head(tls), events, context);
      } catch (RuntimeException e) {
        onOriginFailure(attempt, e);
        return;
      }
      forwardRequest(stream);
      return;
    }
    RequestOptions head = request.options(lease.isH2(), pool.peer().address().scheme().tls());
    VertxOriginStream.open(lease.connection(), head, request.authority(), events).onComplete(ar -> {
      if (ar.failed()) {
        onOriginFailure(attempt, ar.cause());
      } else if (done) {
        ar.result().reset(CANCEL);
      } else {
        forwardRequest(ar.result());
      }
    });
  }

  // ---- phase: forward the request head and body ---------------------------------------------------

  private void forwardRequest(OriginStream stream) {
    origin = stream;
    // The read timeout counts from here: getting a connection is bounded by the connect timeout (522).
    progressed();
    request.forwardTo(stream);
  }

  /** Whether {@code stream} is still where the request goes: the current attempt's, not given up. */
  boolean sendsTo(OriginStream stream) {
    return origin == stream && !done && !originCancelled;
  }

  boolean isDone() {
    return done;
  }

  // ---- phase: relay the response (ResponseRelay reports here) -------------------------------------

  @Override
  public boolean stale(int attempt) {
    return done || originCancelled || attempt != attempts;
  }

  @Override
  public OriginStream origin() {
    return origin;
  }

  @Override
  public void originActive() {
    progressed();
  }

  @Override
  public void originAnswered(int status) {
    if (OriginHealth.isServerError(status) && selection.origins().pools().size() > 1) {
      // With one origin there is no balancing to take it out of.
      pool.health().answeredServerError(System.nanoTime(), status);
    } else {
      pool.health().requestSucceeded();
    }
    // No attempt follows one that has its answer: the body kept for a replay would hold its share of the
    // upload budget, which other requests' replays need, for as long as a long upload goes on.
    request.dropReplayBody();
    if (!request.isBodyEnded() && RequestRelay.expectsContinue(client) && !response.continued()) {
      // The client waits for a 100 (Continue) that will not come, and may send its body or not (curl
      // sends its next request): what follows on its connection cannot be read safely. One that had its
      // 100 sends the body it announced, read and dropped as any body answered early.
      LingeringClose.afterStreamedResponse(client);
    } else {
      forwarder.closeAfterResponse(client);
    }
    progressed();
  }

  @Override
  public void responseEnded() {
    if (!request.isBodyEnded()) {
      // The origin answered before reading the whole body: stop sending it. An HTTP/1.x origin connection
      // would take the next request's bytes as the body's unsent rest (Vert.x drops a request whose
      // response is over without closing its connection): it is not used again. The client's rest is
      // read and dropped.
      if (lease != null && !lease.isH2()) {
        lease.retireConnection();
      }
      cancelOrigin(Http2Error.NO_ERROR.code());
      client.resume();
    }
    finish(response.status(), null);
  }

  // ---- failures -----------------------------------------------------------------------------------

  @Override
  public void clientTooSlow() {
    // Cut before the process's memory runs out, which would stall every event loop, every zone's requests.
    cutForTheClient("client_too_slow");
  }

  /** Ends an exchange whose client, not its origin, is at fault: both streams cancelled, no origin error counted. */
  private void cutForTheClient(String reason) {
    cancelOrigin(CANCEL);
    response.cut(CANCEL, reason);
  }

  @Override
  public void onOriginFailure(int attempt, Throwable cause) {
    if (stale(attempt)) {
      return;
    }
    if (forwarder.drain().cutByDrain()) {
      // The stop closes origin connections after the drain; a client connection still closing then (its
      // client reads nothing of what it was sent) was cut by the drain, not by its origin.
      finishCut(503, "drain_timeout");
      client.reset(CANCEL);
      return;
    }
    OriginFailure failure = lease == null ? OriginFailure.classify(cause)
      : lease.classify(cause, origin, client.method(), response.headReceived());
    if (failure.countsAgainstOrigin()) {
      pool.health().requestFailed(System.nanoTime(), failure.kind());
    }
    if (response.headReceived()) {
      releaseLease();
      // Counted as the origin's error too: the client gets a cut response instead of a 52x.
      forwarder.originFailed(zone, failure);
      // The origin's code goes on, but NO_ERROR, which would tell an HTTP/2 client the cut body was whole.
      long code = cause instanceof StreamResetException reset && reset.getCode() != Http2Error.NO_ERROR.code()
        ? reset.getCode() : INTERNAL_ERROR;
      response.reset(code, failure.kind().reason());
      return;
    }
    // A connection to a down origin failed before any byte was sent: safe to try another origin.
    boolean failover = failure.kind().ejectsOrigin() && selection.origins().hasAlternativeInBalancing(pool);
    if (failure.kind().replaySafe() || failover) {
      if (request.replayOverflow()) {
        failure = new OriginFailure(FailureKind.REPLAY_BODY_TOO_LARGE, null, cause);
      } else if (retries().allow(failure, failover, attempts, selection.origins().pools().size())) {
        releaseLease();
        origin = null;
        if (!client.isEnded()) {
          client.pause(); // over HTTP/2 Vert.x throws on pausing a request already read
        }
        selectOrigin();
        return;
      }
    }
    // A stream the proxy gives up on (its read timeout) is reset before its connection is free again: an
    // HTTP/1.x connection closes on it, and must not reach a queued request first. A stream the origin
    // ended has nothing left to reset; its connection is freed first, so that the no-op reset is not
    // counted in the connection's budget of the proxy's own resets.
    boolean gaveUp = cause instanceof OriginFailure own && own.kind() == FailureKind.READ_TIMEOUT;
    if (gaveUp) {
      cancelOrigin(CANCEL);
      releaseLease();
    } else {
      releaseLease();
      cancelOrigin(CANCEL);
    }
    forwarder.originFailed(zone, failure);
    forwarder.closeAfterResponse(client);
    response.respondError(failure.kind().status(), failure.kind().reason());
  }

  private Retries retries() {
    if (retries == null) {
      retries = new Retries(forwarder, zone);
    }
    return retries;
  }

  /** Gives back the failed attempt's stream; a retry is sent elsewhere if it can be. */
  private void releaseLease() {
    if (lease != null) {
      lease.release();
      unprocessedOn = lease;
      lease = null;
    }
  }

  @Override
  ContextInternal context() {
    return context;
  }

  /**
   * No response within the read timeout of the request (or of the last body byte either way). Before the
   * request is on a connection the wait is bounded by connect + read timeout, so that a request queued
   * behind full connections ends; one waiting for a connection being opened then waits on for that
   * setup's own deadline, which comes later when the read timeout is the shorter (twice the connect
   * timeout), so that the setup answers it with a stream or its 52x.
   */
  @Override
  long idleLimitNanos() {
    return done ? Long.MAX_VALUE : origin == null ? streamWaitNanos + setupWaitNanos : readTimeoutNanos;
  }

  @Override
  void onDeadline(long nowNanos) {
    if (!expired(nowNanos)) {
      return;
    }
    if (response.headReceived() && response.clientBackedUp()) {
      // The client has not taken what it was sent: no fault of the origin's, whose window it holds shut.
      cutForTheClient("client_stalled");
    } else if (response.headReceived()) {
      cancelOrigin(CANCEL);
      forwarder.originFailed(zone, new OriginFailure(FailureKind.READ_TIMEOUT, "response body stalled"));
      // A cut body, as any other (CANCEL would tell a gRPC client that its own caller cancelled the call).
      response.reset(INTERNAL_ERROR, FailureKind.READ_TIMEOUT.reason());
    } else if (waitingForStream != null && setupWaitNanos == 0 && pool.awaitsOpening(waitingForStream)) {
      // Waiting for a connection being opened, not behind full ones: that setup's deadline, the later one
      // when the read timeout is the shorter, answers it with a stream or its 52x (a 503 here passed a
      // silent origin off as a busy one). Once, long enough for a setup begun just now, and two ticks more.
      setupWaitNanos = TimeUnit.MILLISECONDS.toNanos(pool.peer().setupDeadlineMillis() + 2 * Deadlines.TICK_MS);
    } else if (waitingForStream != null) {
      // Queued behind full connections for the whole bound: the origin is busy, not failing.
      onOriginFailure(attempts, new OriginFailure(FailureKind.QUEUE_TIMEOUT, "no stream free in time"));
    } else if (origin != null && !request.isBodyEnded() && !response.originHoldsRequestBack()) {
      // The origin waits for the rest of a body the client stopped sending: still no response headers in
      // time (524), but the origin's health and error count are not charged with the client's stall.
      failClient(FailureKind.READ_TIMEOUT.status(), "request_body_timeout");
    } else {
      onOriginFailure(attempts, new OriginFailure(FailureKind.READ_TIMEOUT, "no response headers in time"));
    }
  }

  /**
   * The client went away or reset its stream: cancel the origin stream too. One that had the response's
   * head is logged with the status it was sent, as nginx and HAProxy log it, and the cut in the error: a
   * client that read a whole body and left before the origin's END_STREAM came was served, not a 499.
   */
  void onClientFailure() {
    if (done) {
      return;
    }
    cancelOrigin(CANCEL);
    if (forwarder.drain().cutByDrain()) {
      finishCut(503, "drain_timeout");
    } else {
      finishCut(499, "client_closed");
    }
  }

  /**
   * Cut before its end: logged with the status the client was sent, as nginx and HAProxy log it, or
   * {@code unsentStatus} when no head went out; the cut is in {@code error}.
   */
  private void finishCut(int unsentStatus, String error) {
    finish(client.headWritten() ? response.status() : unsentStatus, error);
  }

  /** A client-side problem (body too large) before or during forwarding. */
  void failClient(int status, String reason) {
    cancelOrigin(CANCEL);
    if (client.headWritten()) {
      // Too late for the status: the response is cut, as nginx and Envoy cut it (a gRPC client reads
      // INTERNAL; CANCEL would tell it that it cancelled the call itself).
      response.reset(INTERNAL_ERROR, reason);
    } else {
      LingeringClose.afterResponse(client);
      response.respondError(status, reason);
    }
  }

  /**
   * Resets the origin stream on the proxy's own initiative. Vert.x may report that reset back through
   * the stream's handlers synchronously; it is not an origin failure, so from here on they are ignored.
   */
  private void cancelOrigin(long code) {
    originCancelled = true;
    if (origin != null) {
      origin.reset(code);
      if (lease != null) {
        lease.resetSent();
      }
    }
  }

  @Override
  public void finish(int status, String error) {
    if (done) {
      return;
    }
    done = true;
    forwarder.deadlines().untrack(this);
    if (lease != null) {
      lease.release();
    } else if (waitingForStream != null) {
      pool.abandon(waitingForStream);
    }
    request.dropReplayBody();
    response.releaseHeld();
    zone.inFlight().decrementAndGet();
    forwarder.completed(new ExchangeRecord(startMillis, System.nanoTime() - startNanos, zone.name(),
      client.method().name(), client.path(), status, Forwarder.protocolName(client.version()),
      client.remoteHost(), client.authority(), pool != null ? pool.peer().address() : null,
      leasedProtocol, leasedLocalPort,
      response.status(), request.bytesIn(), response.bytesOut(), error, attempts,
      retries == null ? null : retries.originsTried()));
  }
}
