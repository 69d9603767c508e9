package io.muxgate.forward;

import io.muxgate.origin.Chunks;
import io.muxgate.origin.OriginStream;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.impl.headers.Http2HeadersAdaptor;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.net.HostAndPort;

/**
 * The response side of one {@link Exchange}: the events of each attempt's origin stream ({@link #sink}),
 * those of an attempt that is over dropped, carried to the client. Informational responses go on; the head
 * loses its hop-by-hop headers, gains Via and has a Location that points at an origin rewritten to the
 * client's host; the body follows with back-pressure (bytes are handed back to the origin stream as the
 * client takes them); then trailers and the end.
 *
 * <p>It owns what the client is sent: the origin's response, or instead the proxy's error or a reset
 * ({@link #respondError}, {@link #reset}), and for the access log the origin's status and the bytes sent. It
 * owns every body chunk the origin stream hands over: each is written to the client ({@link Downstream#write},
 * {@link Downstream#end}) or released ({@link Chunks#release}). Which attempt is current, failures, timeouts
 * and the end of the exchange are the exchange's ({@link Owner}).
 */
final class ResponseRelay extends HeldResponseBytes.Holder {

  private static final long INTERNAL_ERROR = Http2Error.INTERNAL_ERROR.code();

  /** What the relay needs of its exchange. */
  interface Owner {

    /**
     * Whether events of {@code attempt}'s origin stream come too late: the exchange is over, the proxy
     * reset that stream itself, or a newer attempt replaced it.
     */
    boolean stale(int attempt);

    /** The current attempt's origin stream. */
    OriginStream origin();

    /** Response bytes arrived: the read timeout counts from now. */
    void originActive();

    /** The final response head arrived: the origin answered (the read timeout counts from now). */
    void originAnswered(int status);

    /** The origin's response is complete, just before its end goes to the client. */
    void responseEnded();

    void onOriginFailure(int attempt, Throwable cause);

    /** The process holds all the response bytes it may for clients that do not take them: cut this one. */
    void clientTooSlow();

    /** Ends the exchange and logs it with {@code status} and {@code error} (null if none); repeats are ignored. */
    void finish(int status, String error);
  }

  private final Downstream client;
  private final ContextInternal context;
  private final Zone zone;
  private final Zone.Selection selection;
  private final HostAndPort authority;
  private final Owner owner;
  private final HeldResponseBytes held;
  private boolean headReceived;
  /**
   * The response has no content (RFC 9110, section 6.4.1: the answer to HEAD, a 204, a 304), so DATA an
   * HTTP/2 origin sends anyway is dropped: after a HEAD's head an HTTP/1.1 client would read it as the
   * start of the next response, and an HTTP/2 client resets the stream.
   */
  private boolean bodiless;
  private int originStatus = -1;
  private long bytesOut;
  /**
   * Response bytes relayed while the client was backed up, returned to the origin's window on drain; counted
   * in {@link #held} until then.
   */
  private int unconsumed;
  /** The origin stream takes no more request body for now (between onBlocked and onWritable). */
  private boolean requestHeldBack;
  /** A 100 (Continue) went to the client, which sends its body from then on. */
  private boolean continued;

  ResponseRelay(Downstream client, ContextInternal context, Zone zone, Zone.Selection selection,
                HostAndPort authority, Owner owner, HeldResponseBytes held) {
    this.client = client;
    this.context = context;
    this.zone = zone;
    this.selection = selection;
    this.authority = authority;
    this.owner = owner;
    this.held = held;
  }

  /** The sink for the events of {@code attempt}'s origin stream. */
  OriginStream.Sink sink(int attempt) {
    return new OriginEvents(attempt);
  }

  /** Whether the origin's final response head has arrived (a failure now cuts the response short). */
  boolean headReceived() {
    return headReceived;
  }

  /** The origin's status, or -1 before its head. */
  int status() {
    return originStatus;
  }

  /** Whether response bytes wait for the client to take them: it, not the origin, holds the response up. */
  boolean clientBackedUp() {
    return unconsumed > 0;
  }

  /** Whether the client was told to go on with its body (it asked with {@code expect: 100-continue}). */
  boolean continued() {
    return continued;
  }

  /** Whether the origin, not the client, holds the request body back: it has not taken what was sent. */
  boolean originHoldsRequestBack() {
    return requestHeldBack;
  }

  /** The exchange is over: what its client has not taken no longer counts against the process's budget. */
  void releaseHeld() {
    held.letGo(this);
    unconsumed = 0;
  }

  @Override
  ContextInternal context() {
    return context;
  }

  @Override
  void cut() {
    owner.clientTooSlow();
  }

  /** Bytes to the client: the origin's response body, or the proxy's error body. */
  long bytesOut() {
    return bytesOut;
  }

  /**
   * Answers with the proxy's own error ({@link ErrorAnswer#write}), or, once the response head is out,
   * cuts the response instead. Either way the exchange is over.
   */
  void respondError(int status, String reason) {
    if (client.headWritten()) {
      reset(INTERNAL_ERROR, reason);
      return;
    }
    if (!client.isEnded()) {
      client.resume();
    }
    // Logged first: ending the client's stream can report its close at once, which must find the exchange done.
    bytesOut += ErrorAnswer.bodyBytes(client);
    owner.finish(status, reason);
    ErrorAnswer.write(client, status, reason);
  }

  /** Cuts the response with a reset of the client's stream, logged with the origin's status, else 502. */
  void reset(long code, String reason) {
    owner.finish(statusOfACut(), reason);
    client.reset(code);
  }

  /**
   * Cuts the response because its client does not take it ({@link Downstream#cut}), logged as {@link #reset}
   * logs it: what was queued for the client is let go too.
   */
  void cut(long code, String reason) {
    owner.finish(statusOfACut(), reason);
    client.cut(code);
  }

  /** A cut response is logged with the origin's status, else 502. */
  private int statusOfACut() {
    return originStatus > 0 ? originStatus : 502;
  }

  /**
   * The bytes held for a chunk the client's write queue did not take: as it backs up, also what the
   * connection queued before it said full ({@link Downstream#bytesQueued}), the chunk among them.
   */
  private int heldFor(int length) {
    return unconsumed == 0 ? Math.max(length, client.bytesQueued()) : length;
  }

  /** The origin's status and headers onto the client response (not yet written). */
  private void relayHead(int status, MultiMap originHeaders, HttpVersion originVersion) {
    statusReceived(status);
    MultiMap headers = client.responseHeaders();
    Headers.copy(originHeaders, headers);
    Headers.append(headers, "via", ForwardingHeaders.via(originVersion));
    if (!headers.contains(HttpHeaders.DATE)) {
      headers.set(HttpHeaders.DATE, ResponseDate.now());
    }
    LocationRewrite.rewriteHeaders(headers, zone, selection, client, authority);
    if (client.version() != HttpVersion.HTTP_2 && !headers.contains(HttpHeaders.CONTENT_LENGTH)
      && client.method() != HttpMethod.HEAD && status != 204 && status != 304) {
      if (client.version() == HttpVersion.HTTP_1_1) {
        client.chunked();
      } else {
        // HTTP/1.0 has no chunks: the body ends with the connection.
        LingeringClose.afterResponse(client);
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
    statusReceived(status);
    Http2Headers headers = originHeaders;
    int found = Headers.scan(headers);
    if ((found & Headers.HOP_BY_HOP) != 0) {
      Headers.dropHopByHop(headers);
    }
    if ((found & Headers.VIA) != 0) {
      Headers.append(headers, ForwardingHeaders.VIA, ForwardingHeaders.via(HttpVersion.HTTP_2));
    } else {
      headers.add(ForwardingHeaders.VIA, ForwardingHeaders.via(HttpVersion.HTTP_2));
    }
    if ((found & Headers.LOCATION) != 0) {
      LocationRewrite.rewriteHeaders(client.responseHeaders(), zone, selection, client, authority);
    }
    if ((found & Headers.DATE) == 0) {
      headers.add(ResponseDate.DATE, ResponseDate.now());
    }
  }

  private void statusReceived(int status) {
    owner.originAnswered(status);
    headReceived = true;
    bodiless = status == 204 || status == 304 || client.method() == HttpMethod.HEAD;
    originStatus = status;
    client.status(status);
  }

  /** The origin's response ended: trailers (may be null) and a last chunk (may be null) to the client. */
  private void endResponse(MultiMap trailers, Buffer last) {
    if (trailers != null && !trailers.isEmpty()) {
      Headers.copy(trailers, client.responseTrailers());
    }
    owner.responseEnded();
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
      // RFC 9110, section 15.2: an HTTP/1.0 client is never sent a 1xx.
      if (owner.stale(attempt) || client.version() == HttpVersion.HTTP_1_0) {
        return;
      }
      if (status == 100) {
        if (RequestRelay.expectsContinue(client)) {
          continued = true;
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
      if (owner.stale(attempt)) {
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
    public void onResponseHead(int status, MultiMap headers, HttpVersion version, boolean end) {
      if (owner.stale(attempt)) {
        return;
      }
      relayHead(status, headers, version);
      if (end) {
        endResponse(null, null);
      } else {
        client.writeHead();
      }
    }

    @Override
    public void onResponseData(Buffer chunk, boolean end) {
      if (owner.stale(attempt)) {
        Chunks.release(chunk);
        return;
      }
      owner.originActive();
      int length = chunk.length();
      OriginStream origin = owner.origin();
      if (bodiless) {
        Chunks.release(chunk);
        if (end) {
          endResponse(null, null);
        } else {
          origin.consume(length);
        }
        return;
      }
      bytesOut += length;
      if (end) {
        endResponse(null, chunk);
        return;
      }
      client.write(chunk);
      if (!client.writeQueueFull()) {
        origin.consume(length);
      } else if (!held.tryHold(ResponseRelay.this, heldFor(length))) {
        owner.clientTooSlow();
      } else {
        unconsumed += length;
        client.drainHandler(v -> {
          int bytes = unconsumed;
          unconsumed = 0;
          held.letGo(ResponseRelay.this);
          origin.consume(bytes);
        });
      }
    }

    @Override
    public void onResponseTrailers(MultiMap trailers) {
      if (!owner.stale(attempt)) {
        endResponse(trailers, null);
      }
    }

    // The request body's back-pressure: the origin stream cannot take more of it for now.
    @Override
    public void onBlocked() {
      if (!owner.stale(attempt) && !client.isEnded()) {
        requestHeldBack = true;
        client.pause();
      }
    }

    @Override
    public void onWritable() {
      if (!owner.stale(attempt) && !client.isEnded()) {
        requestHeldBack = false;
        client.resume();
      }
    }

    @Override
    public void onFailure(Throwable cause) {
      owner.onOriginFailure(attempt, cause);
    }
  }
}
