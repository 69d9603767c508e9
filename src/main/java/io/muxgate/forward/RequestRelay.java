package io.muxgate.forward;

import io.muxgate.observe.AccessLog;
import io.muxgate.origin.OriginStream;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.HostAndPort;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The request side of one {@link Exchange}, as each attempt sends it. It owns the origin request's head,
 * built once and sent again as is on another attempt (only :scheme follows the origin), and the client's
 * body: counted against the zone's limit and kept, up to {@link Forwarder#REPLAY_BODY_LIMIT} and until the
 * origin answers, so that an attempt after the first can send it again. It takes the client's events and
 * carries the live body to the current attempt's origin stream; which stream that is, and what a client
 * failure means, are the exchange's.
 */
final class RequestRelay implements Downstream.Events {

  private static final AsciiString HTTPS = AsciiString.cached("https");
  private static final AsciiString HTTP = AsciiString.cached("http");
  private static final String TE = "te";

  private final Exchange exchange;
  private final Downstream client;
  private final MultiMap originHeaders;
  /**
   * The origin's HTTP/2 request head when the client sent an HTTP/2 header list, else null: pseudo-headers
   * first (each attempt sets :scheme), then the headers; {@link #originHeaders} is a view of it, pseudo-headers
   * included, so Vert.x's client gets a copy without them.
   */
  private final Http2Headers originHttp2;
  private final String originUri;
  private final HostAndPort authority;
  private final long maxBodyBytes;
  /** The process's budget of upload bytes, which the body kept for a replay counts in. */
  private final HeldBytes held;
  /** The body kept for a replay; empty and shared until a chunk comes (most requests have none), null once dropped. */
  private List<Buffer> replayBody = List.of();
  private long replayBytes;
  private boolean replayOverflow;
  private long bytesIn;
  private boolean bodyEnded;
  /** The origin stream's head waits for the body's first chunk or end, to go out with it. */
  private boolean headHeld;

  RequestRelay(Exchange exchange, Downstream client, MultiMap originHeaders, Http2Headers originHttp2,
               String originUri, HostAndPort authority, long maxBodyBytes, HeldBytes held) {
    this.exchange = exchange;
    this.client = client;
    this.originHeaders = originHeaders;
    this.originHttp2 = originHttp2;
    this.originUri = originUri;
    this.authority = authority;
    this.maxBodyBytes = maxBodyBytes;
    this.held = held;
  }

  static boolean expectsContinue(Downstream client) {
    return client.headers().contains(HttpHeaders.EXPECT, HttpHeaders.CONTINUE, true);
  }

  HostAndPort authority() {
    return authority;
  }

  /** The request head for an HTTP/2 origin stream to an origin reached with or without TLS. */
  Http2Headers http2Head(boolean tls) {
    AsciiString scheme = tls ? HTTPS : HTTP;
    // Forwarder built the whole list when the client sent one; the codec only reads it, so a replay
    // sends it again as is, touched only if its origin's scheme differs from the last attempt's
    return originHttp2 != null ? withScheme(originHttp2, scheme) : http2Head(scheme);
  }

  /**
   * The request head for Vert.x's client: HTTP/1.1 origins, and HTTP/2 ones whose connection Muxgate's
   * own streams cannot reach ({@code h2}), reached with or without {@code tls}.
   */
  RequestOptions options(boolean h2, boolean tls) {
    MultiMap headers;
    if (h2) {
      headers = originHttp2 == null ? originHeaders : withoutPseudoHeaders(originHeaders);
    } else {
      // Host first, as RFC 9110 (section 7.2) asks of a user agent and nginx and HAProxy send it: Vert.x's
      // HTTP/1.x client writes the authority it is given after every other header. Given Host in the map,
      // it writes that instead (and its own chunked coding after it); on a copy, as a replay may go to an
      // HTTP/2 origin, where Host would sit beside :authority.
      headers = HttpHeaders.headers().add(HttpHeaders.HOST, hostHeader(authority, tls));
      if (originHttp2 == null) {
        headers.addAll(originHeaders);
      } else {
        Headers.copyRequest(originHeaders, headers);   // pseudo-headers count as hop-by-hop there
      }
      if (originHttp2 != null && carriesContent(client.method()) && client.endedWithHead()) {
        // HTTP/2 needs no length for an empty body; over HTTP/1.1 none and no chunking means an empty body
        // too, but origins that want a length answer it 411: say it, as nginx does (RFC 9110, section 8.6).
        headers.set(HttpHeaders.CONTENT_LENGTH, "0");
      }
      if (headers.contains(TE)) {
        // TE is hop-by-hop: over HTTP/1.1 its sender names it in Connection (RFC 9110, section 10.1.4),
        // and a recipient may ignore a TE that Connection does not name.
        headers.set(HttpHeaders.CONNECTION, TE);
      }
    }
    // HPACK writes a :path one char to a byte, as it was read; Vert.x's HTTP/1.1 client writes UTF-8.
    String uri = h2 ? originUri : AccessLog.asSent(originUri);
    return new RequestOptions().setMethod(client.method()).setURI(uri).setHeaders(headers);
  }

  /**
   * The Host Vert.x's client would write for {@code authority} (HttpClientRequestBase.authority() in 5.0):
   * without the port when it is the scheme's default toward the origin or absent.
   */
  static String hostHeader(HostAndPort authority, boolean tls) {
    int port = authority.port();
    return port < 0 || port == (tls ? 443 : 80) ? authority.host() : authority.host() + ':' + port;
  }

  /** The methods whose requests carry content (RFC 9110, section 9.3): a bodiless one is still a zero length. */
  private static boolean carriesContent(HttpMethod method) {
    return method == HttpMethod.POST || method == HttpMethod.PUT || method == HttpMethod.PATCH;
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

  /**
   * Starts an attempt's request on {@code stream}, already the exchange's current one: what the client has
   * sent so far, then the rest as it comes ({@link #onData}, {@link #onEnd}).
   */
  void forwardTo(OriginStream stream) {
    headHeld = true; // before sendTo: the chunks its resume() may deliver at once send the head too
    if (!sendTo(stream)) {
      headHeld = false;
    }
    if (headHeld) {
      // A body that comes later must not hold the head back: a gRPC client may wait for the origin's
      // answer before it sends. The head goes alone once this turn's reads are done, unless a chunk or
      // the end read with it took it along.
      exchange.context().runOnContext(v -> {
        if (headHeld && exchange.sendsTo(stream)) {
          headHeld = false;
          stream.sendHead();
        }
      });
    }
  }

  /**
   * Sends what the client has sent so far on an attempt's origin stream, the head already open: the body
   * kept for a replay, then the end, or, while the body goes on, the head alone if the client waits for a
   * 100 (Continue); then reads on.
   *
   * @return whether the head is still unsent, held for the body's first chunk or end to go with it
   */
  private boolean sendTo(OriginStream origin) {
    boolean sent = false;
    if (replayBody != null) {
      for (Buffer chunk : replayBody) {
        origin.write(chunk);
        sent = true;
      }
    }
    if (bodyEnded) {
      origin.end(client.requestTrailers());
      return false;
    }
    if (!sent && expectsContinue(client)) {
      origin.sendHead();
      sent = true;
    }
    client.resume();
    return !sent;
  }

  @Override
  public void onData(Buffer chunk) {
    if (exchange.isDone() || chunk.length() == 0) {
      return;
    }
    exchange.progressed();
    if (!take(chunk)) {
      exchange.failClient(413, "request_body_too_large");
      return;
    }
    OriginStream origin = exchange.origin();
    if (origin == null) {
      client.pause();
      return;
    }
    headHeld = false;
    origin.write(chunk);
  }

  @Override
  public void onEnd() {
    bodyEnded = true;
    if (exchange.isDone()) {
      return;
    }
    OriginStream origin = exchange.origin();
    if (origin != null) {
      headHeld = false;
      origin.end(client.requestTrailers());
    }
  }

  @Override
  public void onFailure(Throwable cause) {
    exchange.onClientFailure();
  }

  @Override
  public void onOverBudget() {
    if (!exchange.isDone()) {
      exchange.failClient(503, "upload_buffer_full");
    }
  }

  @Override
  public void onMalformedBody(Throwable cause) {
    if (!exchange.isDone()) {
      exchange.failClient(400, "bad_request");
    }
  }

  /**
   * Counts a body chunk from the client and keeps it for a replay while the kept body fits, in its own
   * limit and within half the process's budget of upload bytes (past which a replay is given up rather
   * than an upload). False when the body has gone over the zone's limit: the chunk is then not kept.
   */
  private boolean take(Buffer chunk) {
    bytesIn += chunk.length();
    if (bytesIn > maxBodyBytes) {
      return false;
    }
    if (replayBody != null) {
      if (replayBytes + chunk.length() <= Forwarder.REPLAY_BODY_LIMIT && held.tryKeep(chunk.length())) {
        if (replayBody.isEmpty()) {
          replayBody = new ArrayList<>(2);
        }
        replayBody.add(chunk);
        replayBytes += chunk.length();
      } else {
        dropReplayBody();
        replayOverflow = true;
      }
    }
    return true;
  }

  boolean isBodyEnded() {
    return bodyEnded;
  }

  /** Whether the body outgrew what is kept for a replay, so no attempt after the first can send it. */
  boolean replayOverflow() {
    return replayOverflow;
  }

  long bytesIn() {
    return bytesIn;
  }

  /** No attempt will need the kept body: the origin answered, or the exchange is over. Repeats do nothing. */
  void dropReplayBody() {
    replayBody = null;
    held.release((int) replayBytes);
    replayBytes = 0;
  }
}
