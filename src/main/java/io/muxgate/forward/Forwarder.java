package io.muxgate.forward;

import io.muxgate.config.Route;
import io.muxgate.origin.OriginFailure;
import io.muxgate.observe.ExchangeObserver;
import io.muxgate.observe.ExchangeRecord;
import io.muxgate.observe.ProxyMetrics;
import io.muxgate.origin.OriginPool;
import io.muxgate.origin.UpgradeConnector;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AttributeKey;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.net.HostAndPort;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The per-request pipeline of one event loop: check the head ({@link RequestChecks}) → {@code resolveZone}
 * → {@code admit} → the route's origins → a {@link WebSocketTunnel}, or an {@link Exchange}
 * ({@code selectOrigin} → {@code forwardRequest} → relay the response). What it refuses gets the proxy's
 * own {@link ErrorAnswer}.
 * Requests for unknown hosts end here with 421 and reach no origin.
 */
public final class Forwarder {

  /** Request body bytes kept so that a request the origin never processed can be sent again. */
  public static final long REPLAY_BODY_LIMIT = 1024 * 1024;
  /**
   * The largest request header block served: the HTTP/1.x block as read, an HTTP/2 list as RFC 9113
   * counts it. Above it, 431.
   */
  public static final int MAX_REQUEST_HEADER_BYTES = 32 * 1024;
  /**
   * Set by the front end on a cleartext connection whose first request asks for the h2c Upgrade Vert.x
   * takes: that request, stream 1 once upgraded, came in HTTP/1.1.
   */
  public static final AttributeKey<Boolean> H2C_UPGRADED = AttributeKey.valueOf("muxgate.h2cUpgraded");
  /** The longest request target served (HTTP/1.x: the codec's request-line limit is the same). Above it, 414. */
  public static final int MAX_REQUEST_TARGET_CHARS = 16 * 1024;

  private final Supplier<ZoneTable> zones;
  private final ExchangeObserver observer;
  private final ProxyMetrics metrics;
  private final Function<OriginPool, UpgradeConnector> upgrades;
  private final HeldResponseBytes heldResponseBytes;
  private final HeldBytes heldUploadBytes;
  private final Deadlines deadlines = new Deadlines();
  private final Drain drain = new Drain();
  /**
   * WebSocket tunnels open now: out of their zone's requests in flight once open (they do not count against
   * {@code max_concurrent_requests}), yet a stop waits for them and cuts them like any request.
   */
  private final AtomicInteger openTunnels = new AtomicInteger();

  public Forwarder(Supplier<ZoneTable> zones, ExchangeObserver observer, ProxyMetrics metrics,
                   Function<OriginPool, UpgradeConnector> upgrades, HeldResponseBytes heldResponseBytes,
                   HeldBytes heldUploadBytes) {
    this.zones = zones;
    this.heldResponseBytes = heldResponseBytes;
    this.heldUploadBytes = heldUploadBytes;
    this.upgrades = upgrades;
    this.observer = observer;
    this.metrics = metrics;
  }

  public void handle(HttpServerRequest request) {
    handle(new VertxDownstream(request), (ContextInternal) ContextInternal.current());
  }

  /** Takes one request, read by Vert.x or by the front end's own HTTP/2 streams, on its event loop. */
  public void handle(Downstream client, ContextInternal context) {
    long start = System.nanoTime();
    HostAndPort authority = client.authority();
    String fault = RequestChecks.fault(client, authority);
    if (fault != null) {
      LingeringClose.afterResponse(client);   // an HTTP/1.x connection's framing after a refused head is in doubt
      // A header block over the limit still names its host: its zone counts the refusal.
      reject(client, fault.equals(RequestChecks.HEADERS_TOO_LARGE) ? resolveZone(authority) : null,
        RequestChecks.status(fault), fault, start);
      return;
    }
    Zone zone = resolveZone(authority);
    if (zone == null) {
      reject(client, null, 421, "unknown_zone", start);
      return;
    }
    if (!admit(client, zone, start)) {
      return;
    }
    String target = RequestTarget.withoutDotSegments(RequestTarget.withUnreservedDecoded(client.uri()));
    String path = target == client.uri() ? client.path() : RequestTarget.pathOf(target);
    Zone.Selection selection = zone.select(path == null ? "/" : path);
    String uri = originUri(target, selection.route());
    if (authority.port() == 0) {
      // An empty port ("c.test:"), which Vert.x reads as 0, is no port (RFC 3986, section 6.2.3); no server
      // listens on port 0 either. Sent on as 0, it gave the origin another authority than the client's.
      authority = HostAndPort.create(authority.host(), -1);
    }
    String authorityText = authority.toString();
    if (WebSocketTunnel.isWebSocket(client)) {
      tunnel(client, context, zone, selection, ForwardingHeaders.originHeaders(client, authorityText, null), uri, start);
      return;
    }
    Http2Headers http2 = client.http2Headers() == null ? null
      : new DefaultHttp2Headers(false).method(client.method().name()).path(uri).authority(authorityText);
    MultiMap headers = ForwardingHeaders.originHeaders(client, authorityText, http2);
    new Exchange(this, client, context, zone, selection, headers, http2, uri, authority).start();
  }

  /**
   * The zone's limits: a request over its concurrency or with a declared body over its size is refused.
   * One admitted counts in the zone's requests in flight until it is logged.
   */
  private boolean admit(Downstream client, Zone zone, long start) {
    int limit = zone.config().settings().maxConcurrentRequests();
    if (zone.inFlight().incrementAndGet() > limit) {
      zone.inFlight().decrementAndGet();
      reject(client, zone, 503, "zone_overloaded", start);
      return false;
    }
    String contentLength = client.header(HttpHeaders.CONTENT_LENGTH);
    if (contentLength != null && RequestChecks.bodyOver(contentLength, zone.config().settings().maxRequestBodyBytes())) {
      zone.inFlight().decrementAndGet();
      LingeringClose.afterResponse(client);
      reject(client, zone, 413, "request_body_too_large", start);
      return false;
    }
    return true;
  }

  private void tunnel(Downstream client, ContextInternal context, Zone zone, Zone.Selection selection,
                      MultiMap headers, String uri, long start) {
    // The log line's time is the request's arrival, as for every other line, though it is written at the close.
    long startMillis = System.currentTimeMillis() - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    long readTimeoutMs = zone.config().settings().proxyReadTimeoutSeconds() * 1000L;
    WebSocketTunnel tunnel = new WebSocketTunnel(client, selection.origins(), upgrades,
      failure -> replayed(zone, failure), headers, uri, context, readTimeoutMs);
    tunnel.start().onComplete(ar -> {
      int status = ar.succeeded() ? ar.result() : 520;
      boolean open = status == (client.version() == HttpVersion.HTTP_2 ? 200 : 101);
      if (open) {
        openTunnels.incrementAndGet();   // before the zone lets go of it: a stop never sees it in neither count
      }
      zone.inFlight().decrementAndGet();
      OriginFailure failure = tunnel.failure();
      if (failure != null && drain.cutByDrain()) {
        // The stop closes origin connections after the drain: an upgrade still unanswered then was cut by
        // the drain, not by its origin, and nothing reached its client, whose connection closed first.
        completed(tunnelRecord(client, zone, tunnel, startMillis, start, 503, -1, "drain_timeout"));
        return;
      }
      if (failure != null) {
        originFailed(zone, failure);
      }
      if (open) {
        // Logged once it closes, as nginx, HAProxy and Envoy do: its duration and bytes are the tunnel's.
        tunnel.closed().onComplete(v -> {
          openTunnels.decrementAndGet();
          completed(tunnelRecord(client, zone, tunnel, startMillis, start, status, 101,
            drain.cutByDrain() ? "drain_timeout" : null));
        });
      } else {
        completed(tunnelRecord(client, zone, tunnel, startMillis, start, status, failure != null ? -1 : status,
          failure != null ? failure.kind().reason() : "upgrade_failed"));
      }
    });
  }

  private static ExchangeRecord tunnelRecord(Downstream client, Zone zone, WebSocketTunnel tunnel, long startMillis,
                                             long start, int status, int originStatus, String error) {
    return new ExchangeRecord(startMillis, System.nanoTime() - start, zone.name(),
      client.method().name(), client.path(), status, protocolName(client.version()), client.remoteHost(),
      client.authority(), tunnel.peer().address(), "http/1.1", tunnel.originLocalPort(), originStatus,
      tunnel.bytesIn(), tunnel.bytesOut(), error, tunnel.attempts(), tunnel.originsTried());
  }

  /**
   * An HTTP/1.x request Vert.x's server could not decode: a request line or header block over the
   * limits, or not HTTP at all. Answered like the proxy's other refusals (body, {@code muxgate-error},
   * access log) instead of Vert.x's bare status, and the connection closed, as its framing is lost.
   */
  public void handleInvalid(HttpServerRequest request) {
    long start = System.nanoTime();
    String reason = RequestChecks.decoderFault(request.decoderResult().cause());
    int status = RequestChecks.status(reason);
    Downstream client = new VertxDownstream(request);
    boolean lineRead = !(request.decoderResult().cause() instanceof UnreadRequestLine);
    if (reason.equals(RequestChecks.CLIENT_CLOSED)) {
      // Gone in the middle of its head: logged as nginx logs it (400; HAProxy: BADREQ, CR--), nothing sent.
      logRefusal(client, null, status, reason, start, lineRead, 0);
      return;
    }
    LingeringClose.afterResponse(client);
    // A header block cut at the limit still has the headers before it: its zone counts the refusal.
    reject(client, status == 431 ? resolveZone(client.authority()) : null, status, reason, start, lineRead);
  }

  private Zone resolveZone(HostAndPort authority) {
    return authority == null ? null : zones.get().lookup(authority.host());
  }

  private static String originUri(String uri, Route route) {
    if (route == null || !route.stripPrefix()) {
      return uri;
    }
    String rest = uri.substring(route.prefix().length());
    return rest.startsWith("/") ? rest : "/" + rest;
  }

  private void reject(Downstream client, Zone zone, int status, String reason, long start) {
    reject(client, zone, status, reason, start, true);
  }

  /** {@code lineRead} is false for Netty's stand-in of a request line it could not read: nothing to log of it. */
  private void reject(Downstream client, Zone zone, int status, String reason, long start, boolean lineRead) {
    closeAfterResponse(client);
    logRefusal(client, zone, status, reason, start, lineRead, ErrorAnswer.write(client, status, reason));
  }

  private void logRefusal(Downstream client, Zone zone, int status, String reason, long start, boolean lineRead,
                          long bytesOut) {
    completed(new ExchangeRecord(System.currentTimeMillis(), System.nanoTime() - start,
      zone == null ? null : zone.name(), lineRead ? client.method().name() : null, lineRead ? client.path() : null,
      status,
      protocolName(client.version()), client.remoteHost(), client.authority(), null, null, -1, -1, 0, bytesOut,
      reason, 0, null));
  }

  /**
   * The proxy's own answer to an HTTP/2 request head no stream takes ({@link MalformedHead#fault} gave
   * {@code reason}), which the front end writes as frames: the head returned, then {@link #errorBody} (but to
   * a HEAD). Logged and counted under zone="" as the proxy's other refusals.
   */
  public Http2Headers refuseHead(Http2Headers head, String reason, String remoteHost) {
    int status = MalformedHead.status(reason);
    Http2Headers answer = ErrorAnswer.http2Head(status, reason);
    CharSequence method = head.method();
    CharSequence target = head.path();
    String path = target == null ? null : target.toString();
    int query = path == null ? -1 : path.indexOf('?');
    CharSequence authority = head.authority() != null ? head.authority() : head.get(HttpHeaders.HOST);
    completed(new ExchangeRecord(System.currentTimeMillis(), 0, null, method == null ? null : method.toString(),
      query < 0 ? path : path.substring(0, query), status, protocolName(HttpVersion.HTTP_2), remoteHost,
      authority == null ? null : HostAndPort.parseAuthority(authority.toString(), -1), null, null, -1, -1, 0,
      errorBodyBytes(method), reason, 0, null));
    return answer;
  }

  /**
   * The 431 the HTTP/2 codec answered by itself, without body, to a header list over the size the front end
   * advertises: it dropped the list, so neither zone nor method, path or host is known.
   * Logged and counted under zone="" as the proxy's other refusals before a zone.
   */
  public void refusedHeaderList(String remoteHost) {
    completed(new ExchangeRecord(System.currentTimeMillis(), 0, null, null, null, 431, protocolName(HttpVersion.HTTP_2),
      remoteHost, null, null, null, -1, -1, 0, 0, RequestChecks.HEADERS_TOO_LARGE, 0, null));
  }

  /** How many bytes of {@link #errorBody} go with the answer to a head with {@code method}: none to a HEAD. */
  public static int errorBodyBytes(CharSequence method) {
    return ErrorAnswer.bodyBytes(method);
  }

  /** The body of the proxy's own answer with {@code status}: {@code error code: NNN}. */
  public static ByteBuf errorBody(int status) {
    return ErrorAnswer.body(status);
  }

  static String protocolName(HttpVersion version) {
    return switch (version) {
      case HTTP_2 -> "HTTP/2";
      case HTTP_1_0 -> "HTTP/1.0";
      default -> "HTTP/1.1";
    };
  }

  void replayed(Zone zone, OriginFailure failure) {
    metrics.replayed(zone.name(), failure.replayReason());
  }

  void originFailed(Zone zone, OriginFailure failure) {
    int status = failure.kind().status();
    if (status >= 520) {
      // The origin errors proper; a full queue (503) or an origin's header limit (431) are not the origin failing.
      metrics.originError(zone.name(), status);
    }
  }

  /** A graceful stop began: connections still open at {@code deadlineNanos} are closed. */
  public void draining(long deadlineNanos) {
    drain.begin(deadlineNanos);
  }

  Drain drain() {
    return drain;
  }

  HeldResponseBytes heldResponseBytes() {
    return heldResponseBytes;
  }

  /** The process's budget of upload bytes held while their origin takes nothing more, and kept for replays. */
  public HeldBytes heldUploadBytes() {
    return heldUploadBytes;
  }

  /** WebSocket tunnels open now on this event loop. */
  public int openTunnels() {
    return openTunnels.get();
  }

  /**
   * Ends an HTTP/1.x client's connection with the response under way during a stop, or when the client
   * asked for it with "close" among other Connection options ({@code close, te}; RFC 9112, section 9.6),
   * which Vert.x's server, matching the whole value only, would keep open.
   */
  void closeAfterResponse(Downstream client) {
    if (client.version() != HttpVersion.HTTP_2 && client.header(HttpHeaders.CONNECTION) != null
        && Headers.asksToClose(client.headers())) {
      LingeringClose.afterStreamedResponse(client);
    } else {
      drain.closeAfterResponse(client);
    }
  }

  Deadlines deadlines() {
    return deadlines;
  }

  void completed(ExchangeRecord record) {
    observer.completed(record);
  }

}
