package io.muxgate.forward;

import io.muxgate.origin.FailureKind;
import io.muxgate.origin.Lease;
import io.muxgate.origin.OriginFailure;
import io.muxgate.origin.OriginPool;
import io.muxgate.observe.ExchangeRecord;
import io.netty.handler.codec.http2.Http2Error;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.StreamResetException;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.net.HostAndPort;

import java.util.ArrayList;
import java.util.List;

/**
 * One request carried from a client to an origin and its response carried back, with back-pressure
 * both ways. Every method runs on the client request's event loop, so the state needs no locking.
 *
 * <p>Phases: {@link #start} → {@link #attempt} (pick a pool, lease a stream) → {@link #forwardRequest}
 * → {@link #relayResponse}. A request the origin provably never processed, or an idempotent one left
 * unanswered by a connection that closed after GOAWAY, is attempted once more on another connection,
 * replaying the body kept so far (up to {@link Forwarder#REPLAY_BODY_LIMIT}).
 */
final class Exchange {

  private static final long CANCEL = Http2Error.CANCEL.code();
  private static final long INTERNAL_ERROR = Http2Error.INTERNAL_ERROR.code();
  private static final int MAX_REPLAYS = 1;
  /** Bounds tries after failures that retire the connection they met (GOAWAY, close, never sent). */
  private static final int MAX_ATTEMPTS = 4;

  private final Forwarder forwarder;
  private final HttpServerRequest request;
  private final HttpServerResponse response;
  private final ContextInternal context;
  private final Zone zone;
  private final Zone.Selection selection;
  private final MultiMap originHeaders;
  private final String originUri;
  private final HostAndPort authority;
  private final long readTimeoutNanos;
  /** Bound on waiting for a stream (queued behind full connections, or a connection being opened). */
  private final long streamWaitNanos;
  private final long startNanos = System.nanoTime();
  private final long startMillis = System.currentTimeMillis();

  private OriginPool pool;
  private Lease lease;
  private HttpClientRequest originRequest;
  private int attempts;
  private int replays;
  private boolean clientBodyEnded;
  private boolean originChunked;
  private boolean responseHeadersReceived;
  private boolean originCancelled;
  private boolean done;
  private List<Buffer> replayBody = new ArrayList<>(2);
  private long replayBytes;
  private boolean replayOverflow;
  private long bytesIn;
  private long bytesOut;
  private long lastActivityNanos = startNanos;
  private int originStatus = -1;
  /** Links in the event loop's {@link Deadlines} list. */
  Exchange deadlinePrev;
  Exchange deadlineNext;

  Exchange(Forwarder forwarder, HttpServerRequest request, ContextInternal context, Zone zone,
           Zone.Selection selection, MultiMap originHeaders, String originUri, HostAndPort authority) {
    this.forwarder = forwarder;
    this.request = request;
    this.response = request.response();
    this.context = context;
    this.zone = zone;
    this.selection = selection;
    this.originHeaders = originHeaders;
    this.originUri = originUri;
    this.authority = authority;
    this.readTimeoutNanos = zone.config().settings().proxyReadTimeoutSeconds() * 1_000_000_000L;
    this.streamWaitNanos = readTimeoutNanos + zone.config().settings().proxyConnectTimeoutSeconds() * 1_000_000_000L;
  }

  void start() {
    request.pause();
    request.handler(this::onClientData);
    request.endHandler(v -> onClientEnd());
    request.exceptionHandler(this::onClientFailure);
    response.exceptionHandler(this::onClientFailure);
    response.closeHandler(v -> onClientFailure(null));
    forwarder.deadlines().track(this);
    attempt();
  }

  // ---- phase: pick a pool and lease a stream ------------------------------------------------------

  private void attempt() {
    int attempt = ++attempts;
    lastActivityNanos = System.nanoTime();
    OriginPool previous = pool;
    pool = selection.origins().pick(previous);
    pool.acquire(context).onComplete(ar -> {
      if (ar.failed()) {
        onOriginFailure(attempt, ar.cause());
      } else if (done) {
        ar.result().release();
      } else {
        lease = ar.result();
        openStream(attempt);
      }
    });
  }

  private void openStream(int attempt) {
    RequestOptions options = new RequestOptions()
      .setMethod(request.method())
      .setURI(originUri)
      .setHeaders(originHeaders);
    lease.connection().request(options).onComplete(ar -> {
      if (ar.failed()) {
        onOriginFailure(attempt, ar.cause());
      } else if (done) {
        ar.result().reset(CANCEL);
      } else {
        forwardRequest(attempt, ar.result());
      }
    });
  }

  // ---- phase: forward the request head and body ---------------------------------------------------

  private void forwardRequest(int attempt, HttpClientRequest req) {
    originRequest = req;
    // The read timeout counts from here: getting a connection is bounded by the connect timeout (522).
    lastActivityNanos = System.nanoTime();
    req.authority(authority);
    req.exceptionHandler(cause -> onOriginFailure(attempt, cause));
    req.drainHandler(v -> request.resume());
    req.earlyHintsHandler(hints -> response.writeEarlyHints(hints));
    req.response().onComplete(ar -> {
      if (ar.succeeded()) {
        relayResponse(attempt, ar.result());
      } else {
        onOriginFailure(attempt, ar.cause());
      }
    });
    originChunked = false;
    boolean expectContinue = request.headers().contains(HttpHeaders.EXPECT, HttpHeaders.CONTINUE, true);
    if (expectContinue) {
      req.continueHandler(v -> response.writeContinue());
    }
    if (replayBody != null) {
      for (Buffer chunk : replayBody) {
        writeToOrigin(chunk);
      }
    }
    if (clientBodyEnded) {
      req.end();
    } else {
      if (expectContinue) {
        prepareChunking(req);
        req.sendHead();
      }
      request.resume();
    }
  }

  private void onClientData(Buffer chunk) {
    if (done || chunk.length() == 0) {
      return;
    }
    lastActivityNanos = System.nanoTime();
    bytesIn += chunk.length();
    if (bytesIn > zone.config().settings().maxRequestBodyBytes()) {
      failClient(413, "request_body_too_large");
      return;
    }
    if (replayBody != null) {
      if (replayBytes + chunk.length() <= Forwarder.REPLAY_BODY_LIMIT) {
        replayBody.add(chunk);
        replayBytes += chunk.length();
      } else {
        replayBody = null;
        replayOverflow = true;
      }
    }
    if (originRequest == null) {
      request.pause();
      return;
    }
    writeToOrigin(chunk);
    if (originRequest.writeQueueFull()) {
      request.pause();
    }
  }

  private void writeToOrigin(Buffer chunk) {
    prepareChunking(originRequest);
    originRequest.write(chunk);
  }

  /**
   * A body of unknown length must be declared chunked before the first write: HTTP/1.1 frames it in
   * chunks, and over HTTP/2, where "chunked" puts nothing on the wire, Vert.x refuses the write otherwise.
   */
  private void prepareChunking(HttpClientRequest req) {
    if (!originChunked && !originHeaders.contains(HttpHeaders.CONTENT_LENGTH)) {
      req.setChunked(true);
      originChunked = true;
    }
  }

  private void onClientEnd() {
    clientBodyEnded = true;
    if (!done && originRequest != null) {
      originRequest.end();
    }
  }

  // ---- phase: relay the response ------------------------------------------------------------------

  private void relayResponse(int attempt, HttpClientResponse originResponse) {
    if (done || originCancelled || attempt != attempts) {
      return;
    }
    responseHeadersReceived = true;
    lastActivityNanos = System.nanoTime();
    originStatus = originResponse.statusCode();
    response.setStatusCode(originStatus);
    MultiMap headers = response.headers();
    Headers.copy(originResponse.headers(), headers);
    Headers.append(headers, "via", forwarder.via(originResponse.version()));
    forwarder.rewriteLocation(headers, selection, request, authority);
    if (request.version() != HttpVersion.HTTP_2 && !headers.contains(HttpHeaders.CONTENT_LENGTH)
      && request.method() != HttpMethod.HEAD && originStatus != 204 && originStatus != 304) {
      response.setChunked(true);
    }
    // The head goes out now, not with the first body chunk: a client of a streaming origin (server-sent
    // events, long poll) sees the status and headers as soon as the origin sends them.
    response.writeHead();
    originResponse.exceptionHandler(cause -> onOriginFailure(attempt, cause));
    originResponse.handler(chunk -> {
      lastActivityNanos = System.nanoTime();
      bytesOut += chunk.length();
      response.write(chunk);
      if (response.writeQueueFull()) {
        originResponse.pause();
        response.drainHandler(v -> originResponse.resume());
      }
    });
    originResponse.endHandler(v -> {
      if (done) {
        return;
      }
      MultiMap trailers = originResponse.trailers();
      if (!trailers.isEmpty()) {
        Headers.copy(trailers, response.trailers());
      }
      if (!clientBodyEnded) {
        // The origin answered before reading the whole body: stop sending, let the client drain.
        cancelOrigin(Http2Error.NO_ERROR.code());
        request.resume();
      }
      finish(originStatus, null);
      response.end();
    });
  }

  // ---- failures -----------------------------------------------------------------------------------

  private void onOriginFailure(int attempt, Throwable cause) {
    if (done || originCancelled || attempt != attempts) {
      return;
    }
    OriginFailure failure = lease != null
      ? lease.classify(cause, originRequest, responseHeadersReceived)
      : OriginFailure.classify(cause);
    if (lease != null) {
      lease.release();
      lease = null;
    }
    if (responseHeadersReceived) {
      long code = cause instanceof StreamResetException reset ? reset.getCode() : INTERNAL_ERROR;
      resetClient(code, failure.kind().reason());
      return;
    }
    // A connection to a down origin failed before any byte was sent: safe to try another origin.
    boolean failover = failure.kind().ejectsOrigin() && selection.origins().hasAlternative(pool);
    if (failure.kind().replaySafe() || failover) {
      if (replayOverflow) {
        failure = new OriginFailure(FailureKind.REPLAY_BODY_TOO_LARGE, null, cause);
      } else if (failure.connectionGone() ? attempts < MAX_ATTEMPTS : replays < MAX_REPLAYS) {
        // A refused stream or a failover is tried once more. When the connection itself went away (it is
        // retired, so the next try lands elsewhere) up to MAX_ATTEMPTS: during an origin restart a GOAWAY
        // can race on each connection in turn. A stream that never reached the wire is not a replay.
        if (!failure.neverSent()) {
          replays++;
          forwarder.replayed(zone, failure);
        }
        originRequest = null;
        if (!request.isEnded()) {
          request.pause(); // over HTTP/2 Vert.x throws on pausing a request already read
        }
        attempt();
        return;
      }
    }
    cancelOrigin(CANCEL);
    forwarder.originFailed(zone, failure);
    respondError(failure.kind().status(), failure.kind().reason());
  }

  ContextInternal context() {
    return context;
  }

  /**
   * Whether the exchange has been idle too long: no response within the read timeout of the request
   * (or of the last body byte either way). Before the request is on a connection the wait is bounded by
   * connect + read timeout, so that a connect stays a 522 while a request queued behind full
   * connections still ends.
   */
  boolean expired(long nowNanos) {
    long limit = originRequest == null ? streamWaitNanos : readTimeoutNanos;
    return !done && nowNanos - lastActivityNanos >= limit;
  }

  void onDeadline(long nowNanos) {
    if (!expired(nowNanos)) {
      return;
    }
    if (responseHeadersReceived) {
      cancelOrigin(CANCEL);
      resetClient(CANCEL, FailureKind.READ_TIMEOUT.reason());
    } else {
      onOriginFailure(attempts, new OriginFailure(FailureKind.READ_TIMEOUT, "no response headers in time"));
    }
  }

  /** The client went away or reset its stream: cancel the origin stream too. */
  private void onClientFailure(Throwable cause) {
    if (done) {
      return;
    }
    cancelOrigin(CANCEL);
    finish(499, "client_closed");
  }

  /** A client-side problem (body too large) before or during forwarding. */
  private void failClient(int status, String reason) {
    cancelOrigin(CANCEL);
    if (response.headWritten()) {
      resetClient(CANCEL, reason);
    } else {
      Forwarder.closeAfterResponse(request);
      respondError(status, reason);
    }
  }

  private void respondError(int status, String reason) {
    if (response.headWritten()) {
      resetClient(INTERNAL_ERROR, reason);
      return;
    }
    if (!request.isEnded()) {
      request.resume();
    }
    finish(status, reason);
    Forwarder.writeError(response, status, reason);
  }

  /**
   * Resets the origin stream on the proxy's own initiative. Vert.x may report that reset back through
   * the stream's handlers synchronously; it is not an origin failure, so from here on they are ignored.
   */
  private void cancelOrigin(long code) {
    originCancelled = true;
    if (originRequest != null) {
      originRequest.reset(code);
    }
  }

  private void resetClient(long code, String reason) {
    finish(originStatus > 0 ? originStatus : 502, reason);
    response.reset(code);
  }

  private void finish(int status, String error) {
    if (done) {
      return;
    }
    done = true;
    forwarder.deadlines().untrack(this);
    if (lease != null) {
      lease.release();
    }
    replayBody = null;
    zone.inFlight().decrementAndGet();
    forwarder.completed(new ExchangeRecord(startMillis, System.nanoTime() - startNanos, zone.name(),
      request.method().name(), request.path(), status, Forwarder.protocolName(request.version()),
      pool != null ? pool.peer().address() : null,
      lease != null ? lease.protocol() : null, lease != null ? lease.localPort() : -1,
      originStatus, bytesIn, bytesOut, error, attempts));
  }
}
