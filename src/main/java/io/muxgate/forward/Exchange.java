package io.muxgate.forward;

import io.muxgate.origin.Chunks;
import io.muxgate.origin.FailureKind;
import io.muxgate.origin.FrameStreams;
import io.muxgate.origin.Lease;
import io.muxgate.origin.OriginFailure;
import io.muxgate.origin.OriginPool;
import io.muxgate.origin.OriginStream;
import io.muxgate.origin.VertxOriginStream;
import io.muxgate.observe.ExchangeRecord;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.StreamResetException;
import io.vertx.core.http.impl.headers.Http2HeadersAdaptor;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.net.HostAndPort;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One request carried from a client to an origin and its response carried back, with back-pressure
 * both ways. Every method runs on the client request's event loop, so the state needs no locking.
 *
 * <p>Phases: {@link #start} → {@link #attempt} (pick a pool, lease a stream) → {@link #forwardRequest}
 * → relay the response ({@link OriginEvents}). The origin side is an {@link OriginStream}: frames on
 * Netty's codec of an HTTP/2 connection ({@link FrameStreams}), or for HTTP/1.1 origins and CONNECT a
 * Vert.x client request. A request the origin provably never processed, or an
 * idempotent one left unanswered by a connection that closed after GOAWAY, is attempted once more on
 * another connection, replaying the body kept so far (up to {@link Forwarder#REPLAY_BODY_LIMIT}).
 */
final class Exchange {

  private static final long CANCEL = Http2Error.CANCEL.code();
  private static final long INTERNAL_ERROR = Http2Error.INTERNAL_ERROR.code();
  private static final int MAX_REPLAYS = 1;
  private static final AsciiString HTTPS = AsciiString.cached("https");
  private static final AsciiString HTTP = AsciiString.cached("http");
  /** Bounds tries after failures that retire the connection they met (GOAWAY, close, never sent). */
  private static final int MAX_ATTEMPTS = 4;

  private final Forwarder forwarder;
  private final Downstream client;
  private final ContextInternal context;
  private final Zone zone;
  private final Zone.Selection selection;
  private final MultiMap originHeaders;
  /**
   * The origin's HTTP/2 request head when the client sent an HTTP/2 header list, else null: pseudo-headers
   * first (each attempt sets :scheme), then the headers; {@link #originHeaders} is a view of it, pseudo-headers
   * included, so Vert.x's client gets a copy without them.
   */
  private final Http2Headers originHttp2;
  private final String originUri;
  private final HostAndPort authority;
  private final long readTimeoutNanos;
  /** Bound on waiting for a stream (queued behind full connections, or a connection being opened). */
  private final long streamWaitNanos;
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
  /** Response bytes relayed while the client was backed up, returned to the origin's window on drain. */
  private int unconsumed;
  private int attempts;
  private int replays;
  private boolean clientBodyEnded;
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
  /** The latest attempt's connection, if it got one, for the access log: failures included. */
  private String leasedProtocol;
  private int leasedLocalPort = -1;
  /** Links in the event loop's {@link Deadlines} list. */
  Exchange deadlinePrev;
  Exchange deadlineNext;

  Exchange(Forwarder forwarder, Downstream client, ContextInternal context, Zone zone, Zone.Selection selection,
           MultiMap originHeaders, Http2Headers originHttp2, String originUri, HostAndPort authority) {
    this.forwarder = forwarder;
    this.client = client;
    this.context = context;
    this.zone = zone;
    this.selection = selection;
    this.originHeaders = originHeaders;
    this.originHttp2 = originHttp2;
    this.originUri = originUri;
    this.authority = authority;
    this.readTimeoutNanos = zone.config().settings().proxyReadTimeoutSeconds() * 1_000_000_000L;
    this.streamWaitNanos = readTimeoutNanos + zone.config().settings().proxyConnectTimeoutSeconds() * 1_000_000_000L;
  }

  void start() {
    client.pause();
    client.bind(new Downstream.Events() {
      @Override
      public void onData(Buffer chunk) {
        onClientData(chunk);
      }

      @Override
      public void onEnd() {
        onClientEnd();
      }

      @Override
      public void onFailure(Throwable cause) {
        onClientFailure(cause);
      }
    });
    forwarder.deadlines().track(this);
    attempt();
  }

  // ---- phase: pick a pool and lease a stream ------------------------------------------------------

  private void attempt() {
    int attempt = ++attempts;
    lastActivityNanos = System.nanoTime();
    leasedProtocol = null;
    leasedLocalPort = -1;
    OriginPool previous = pool;
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
    OriginEvents events = new OriginEvents(attempt);
    FrameStreams frames = lease.frames();
    // CONNECT has no :path or :scheme in HTTP/2 (RFC 9113 §8.5); Vert.x's client writes it that way.
    if (frames != null && client.method() != HttpMethod.CONNECT) {
      AsciiString scheme = pool.peer().address().scheme().tls() ? HTTPS : HTTP;
      OriginStream stream;
      try {
        // Forwarder built the whole list when the client sent one; the codec only reads it, so a replay
        // sends it again as is, touched only if its origin's scheme differs from the last attempt's
        Http2Headers head = originHttp2 != null ? withScheme(originHttp2, scheme) : http2Head(scheme);
        stream = frames.open(head, events, context);
      } catch (RuntimeException e) {
        onOriginFailure(attempt, e);
        return;
      }
      forwardRequest(stream);
      return;
    }
    RequestOptions options = new RequestOptions()
      .setMethod(client.method())
      .setURI(originUri)
      .setHeaders(originHttp2 == null ? originHeaders : withoutPseudoHeaders(originHeaders));
    VertxOriginStream.open(lease.connection(), options, authority, events).onComplete(ar -> {
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
    lastActivityNanos = System.nanoTime();
    if (replayBody != null) {
      for (Buffer chunk : replayBody) {
        origin.write(chunk);
      }
    }
    if (clientBodyEnded) {
      origin.end(client.requestTrailers());
    } else {
      if (expectsContinue()) {
        origin.sendHead();
      }
      client.resume();
    }
  }

  private static Http2Headers withScheme(Http2Headers head, AsciiString scheme) {
    return scheme.contentEquals(head.scheme()) ? head : head.scheme(scheme);
  }

  /** The origin's HTTP/2 request head for a request Vert.x read (its header names may be in any case). */
  private Http2Headers http2Head(AsciiString scheme) {
    Http2Headers head = new DefaultHttp2Headers(true).method(client.method().name()).path(originUri).scheme(scheme)
      .authority(authority.toString());
    for (Map.Entry<String, String> header : originHeaders) {
      head.add(header.getKey().toLowerCase(Locale.ROOT), header.getValue());
    }
    return head;
  }

  /** A copy of the origin request's headers without the HTTP/2 pseudo-headers, for Vert.x's client. */
  private static MultiMap withoutPseudoHeaders(MultiMap headers) {
    MultiMap copy = HttpHeaders.headers();
    Headers.copyRequest(headers, copy);   // pseudo-headers count as hop-by-hop there
    return copy;
  }

  private boolean expectsContinue() {
    return client.headers().contains(HttpHeaders.EXPECT, HttpHeaders.CONTINUE, true);
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
    if (origin == null) {
      client.pause();
      return;
    }
    origin.write(chunk);
  }

  private void onClientEnd() {
    clientBodyEnded = true;
    if (done) {
      return;
    }
    if (origin != null) {
      origin.end(client.requestTrailers());
    }
  }

  // ---- phase: relay the response ------------------------------------------------------------------

  /** The origin's status and headers onto the client response (not yet written). */
  private void relayHead(int status, MultiMap originHeaders, HttpVersion originVersion) {
    headReceived(status);
    MultiMap headers = client.responseHeaders();
    Headers.copy(originHeaders, headers);
    Headers.append(headers, "via", forwarder.via(originVersion));
    forwarder.rewriteLocation(headers, zone, selection, client, authority);
    if (client.version() != HttpVersion.HTTP_2 && !headers.contains(HttpHeaders.CONTENT_LENGTH)
      && client.method() != HttpMethod.HEAD && status != 204 && status != 304) {
      if (client.version() == HttpVersion.HTTP_1_1) {
        client.chunked();
      } else {
        // HTTP/1.0 has no chunks: the body ends with the connection.
        Forwarder.closeAfterResponse(client);
      }
    }
  }

  /**
   * {@link #relayHead(int, MultiMap, HttpVersion)} for an HTTP/2 origin's header list, which this exchange
   * owns (the codec decoded it for this stream): an HTTP/2 client side takes it as it is, filtered in place.
   */
  private void relayHead(int status, Http2Headers originHeaders) {
    if (!client.adoptResponseHeaders(originHeaders)) {
      relayHead(status, new Http2HeadersAdaptor(originHeaders), HttpVersion.HTTP_2);
      return;
    }
    headReceived(status);
    Http2Headers headers = originHeaders;
    int found = Headers.scan(headers);
    if ((found & Headers.HOP_BY_HOP) != 0) {
      Headers.dropHopByHop(headers);
    }
    if ((found & Headers.VIA) != 0) {
      Headers.append(headers, Forwarder.VIA, forwarder.via(HttpVersion.HTTP_2));
    } else {
      headers.add(Forwarder.VIA, forwarder.via(HttpVersion.HTTP_2));
    }
    if ((found & Headers.LOCATION) != 0) {
      forwarder.rewriteLocation(client.responseHeaders(), zone, selection, client, authority);
    }
  }

  private void headReceived(int status) {
    pool.health().requestSucceeded();
    if (!clientBodyEnded && expectsContinue()) {
      // The client waits for a 100 (Continue) that will not come, and may send its body or not (curl
      // sends its next request): what follows on its connection cannot be read safely.
      Forwarder.closeAfterResponse(client);
    }
    responseHeadersReceived = true;
    lastActivityNanos = System.nanoTime();
    originStatus = status;
    client.status(status);
  }

  /** The origin's response ended: trailers (may be null) and a last chunk (may be null) to the client. */
  private void endResponse(MultiMap trailers, Buffer last) {
    if (trailers != null && !trailers.isEmpty()) {
      Headers.copy(trailers, client.responseTrailers());
    }
    if (!clientBodyEnded) {
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
    finish(originStatus, null);
    client.end(last);
  }

  /** One attempt's origin stream events; those of an attempt that is over are dropped. */
  private final class OriginEvents implements OriginStream.Sink {

    private final int attempt;

    OriginEvents(int attempt) {
      this.attempt = attempt;
    }

    @Override
    public void onInformational(int status, MultiMap headers) {
      if (stale(attempt)) {
        return;
      }
      if (status == 100) {
        if (expectsContinue()) {
          client.writeContinue();
        }
      } else if (status == 103) {
        MultiMap hints = HttpHeaders.headers();
        Headers.copy(headers, hints);
        client.writeEarlyHints(hints);
      }
    }

    @Override
    public void onResponseHead(int status, Http2Headers headers, boolean end) {
      if (stale(attempt)) {
        return;
      }
      relayHead(status, headers);
      if (end) {
        endResponse(null, null);
      } else {
        client.writeHead();
      }
    }

    @Override
    public void onResponseHead(int status, MultiMap headers, HttpVersion version) {
      if (!stale(attempt)) {
        relayHead(status, headers, version);
        client.writeHead();
      }
    }

    @Override
    public void onResponseData(Buffer chunk, boolean end) {
      if (stale(attempt)) {
        Chunks.release(chunk);
        return;
      }
      lastActivityNanos = System.nanoTime();
      int length = chunk.length();
      bytesOut += length;
      if (end) {
        endResponse(null, chunk);
        return;
      }
      client.write(chunk);
      if (!client.writeQueueFull()) {
        origin.consume(length);
      } else {
        unconsumed += length;
        OriginStream stream = origin;
        client.drainHandler(v -> {
          int bytes = unconsumed;
          unconsumed = 0;
          stream.consume(bytes);
        });
      }
    }

    @Override
    public void onResponseTrailers(MultiMap trailers) {
      if (!stale(attempt)) {
        endResponse(trailers, null);
      }
    }

    @Override
    public void onBlocked() {
      if (!stale(attempt) && !client.isEnded()) {
        client.pause();
      }
    }

    @Override
    public void onWritable() {
      if (!stale(attempt) && !client.isEnded()) {
        client.resume();
      }
    }

    @Override
    public void onFailure(Throwable cause) {
      onOriginFailure(attempt, cause);
    }
  }

  // ---- failures -----------------------------------------------------------------------------------

  private void onOriginFailure(int attempt, Throwable cause) {
    if (stale(attempt)) {
      return;
    }
    OriginFailure failure = lease == null ? OriginFailure.classify(cause)
      : lease.classify(cause, origin, client.method(), responseHeadersReceived);
    if (lease != null) {
      lease.release();
      unprocessedOn = lease;
      lease = null;
    }
    if (failure.kind().countsAgainstOrigin()) {
      pool.health().requestFailed(System.nanoTime());
    }
    if (responseHeadersReceived) {
      // Counted as the origin's error too: the client gets a cut response instead of a 52x.
      forwarder.originFailed(zone, failure);
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
        origin = null;
        if (!client.isEnded()) {
          client.pause(); // over HTTP/2 Vert.x throws on pausing a request already read
        }
        attempt();
        return;
      }
    }
    cancelOrigin(CANCEL);
    forwarder.originFailed(zone, failure);
    respondError(failure.kind().status(), failure.kind().reason());
  }

  /**
   * Whether events of {@code attempt}'s origin stream come too late: the exchange is over, the proxy
   * reset that stream itself, or a newer attempt replaced it.
   */
  private boolean stale(int attempt) {
    return done || originCancelled || attempt != attempts;
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
    long limit = origin == null ? streamWaitNanos : readTimeoutNanos;
    return !done && nowNanos - lastActivityNanos >= limit;
  }

  void onDeadline(long nowNanos) {
    if (!expired(nowNanos)) {
      return;
    }
    if (responseHeadersReceived) {
      cancelOrigin(CANCEL);
      forwarder.originFailed(zone, new OriginFailure(FailureKind.READ_TIMEOUT, "response body stalled"));
      resetClient(CANCEL, FailureKind.READ_TIMEOUT.reason());
    } else if (waitingForStream != null) {
      // Still queued for a stream (a connection that does not open fails its queue with 522 first).
      onOriginFailure(attempts, new OriginFailure(FailureKind.QUEUE_TIMEOUT, "no stream free in time"));
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
    if (forwarder.cutByDrain()) {
      finish(503, "drain_timeout");
    } else {
      finish(499, "client_closed");
    }
  }

  /** A client-side problem (body too large) before or during forwarding. */
  private void failClient(int status, String reason) {
    cancelOrigin(CANCEL);
    if (client.headWritten()) {
      resetClient(CANCEL, reason);
    } else {
      Forwarder.closeAfterResponse(client);
      respondError(status, reason);
    }
  }

  private void respondError(int status, String reason) {
    if (client.headWritten()) {
      resetClient(INTERNAL_ERROR, reason);
      return;
    }
    if (!client.isEnded()) {
      client.resume();
    }
    // Logged first: ending the client's stream can report its close at once, which must find the exchange done.
    bytesOut += Forwarder.ERROR_BODY_BYTES;
    finish(status, reason);
    Forwarder.writeError(client, status, reason);
  }

  /**
   * Resets the origin stream on the proxy's own initiative. Vert.x may report that reset back through
   * the stream's handlers synchronously; it is not an origin failure, so from here on they are ignored.
   */
  private void cancelOrigin(long code) {
    originCancelled = true;
    if (origin != null) {
      origin.reset(code);
    }
  }

  private void resetClient(long code, String reason) {
    finish(originStatus > 0 ? originStatus : 502, reason);
    client.reset(code);
  }

  private void finish(int status, String error) {
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
    replayBody = null;
    zone.inFlight().decrementAndGet();
    forwarder.completed(new ExchangeRecord(startMillis, System.nanoTime() - startNanos, zone.name(),
      client.method().name(), client.path(), status, Forwarder.protocolName(client.version()),
      pool != null ? pool.peer().address() : null,
      leasedProtocol, leasedLocalPort,
      originStatus, bytesIn, bytesOut, error, attempts));
  }
}
