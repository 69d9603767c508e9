package io.muxgate.origin;

import io.muxgate.config.OriginAddress.Scheme;
import io.vertx.core.Closeable;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpConnectOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.http.impl.CleanableHttpClient;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.tracing.TracingPolicy;

import java.util.List;
import java.util.concurrent.TimeUnit;

/** How to reach a peer: the Vert.x client options and the per-connection address, SNI and TLS mode. */
public final class OriginClients {

  /**
   * Per-stream receive window toward origins at its largest. A stream starts at {@link #INITIAL_STREAM_WINDOW}
   * and grows to this while its client keeps taking what it is sent ({@link FrameStream}).
   */
  static final int STREAM_WINDOW = 1024 * 1024;
  /**
   * What a stream's receive window starts at: large enough that one 64 KiB response needs no update, and
   * what a stream whose client never reads holds, as HAProxy's 64 KiB initial window bounds it.
   */
  static final int INITIAL_STREAM_WINDOW = 128 * 1024;
  /** The least per-connection receive window, as before it grew with the streams a connection may carry. */
  static final int CONNECTION_WINDOW = 16 * 1024 * 1024;
  static final int MAX_HEADER_BYTES = 64 * 1024;
  private static final int CLEANER_PERIOD_MS = 3_600_000;

  private OriginClients() {
  }

  static HttpClientAgent create(Vertx vertx, OriginPeer peer) {
    return createClient(vertx, options(peer), unpooled());
  }

  /**
   * A client that {@link #close} lets go of. Vert.x 5.0 files each client it makes under the close future
   * of the context making it (the config verticle's, for every pool a reload makes) and leaves it there
   * once the client is closed (eclipse-vertx/vert.x#6268, still so in 5.1.5): every pool a reload retired
   * would keep its client, options and TLS state for the life of the process. The client is filed under
   * the Vert.x instance instead, which still closes it if it closes first.
   */
  static HttpClientAgent createClient(Vertx vertx, HttpClientOptions options, PoolOptions pool) {
    HttpClientAgent client = vertx.createHttpClient(options, pool);
    ContextInternal creator = ((VertxInternal) vertx).getContext();
    Closeable filed = filed(client);
    if (creator != null && filed != null && creator.closeFuture().remove(filed)) {
      ((VertxInternal) vertx).closeFuture().add(filed);
    }
    return client;
  }

  /** Closes a client made by {@link #createClient}, and takes it out of the Vert.x instance's close future. */
  static Future<Void> close(Vertx vertx, HttpClientAgent client) {
    return client.close().andThen(ar -> {
      Closeable filed = filed(client);
      if (filed != null) {
        ((VertxInternal) vertx).closeFuture().remove(filed);
      }
    });
  }

  /** What Vert.x filed a client under: the implementation inside the wrapper it hands out. */
  private static Closeable filed(HttpClientAgent client) {
    return client instanceof CleanableHttpClient cleanable ? cleanable.delegate : null;
  }

  /**
   * For a client whose connections are all opened with {@code connect()} and kept by an {@link OriginPool}:
   * Vert.x's own pool stays empty, and its cleaner has nothing to do, so it runs once an hour instead of
   * every second (with thousands of zones, thousands of timers a second on the event loops). It is not
   * turned off: Vert.x 5.0's client cancels the timer whose id it holds when it closes, and one without a
   * cleaner holds id 0, the process's first timer, whosever it is. The pools' sweep once was that timer,
   * and the first pool retired by a reload ended every idle close and PING for the life of the process.
   */
  static PoolOptions unpooled() {
    return new PoolOptions().setCleanerPeriod(CLEANER_PERIOD_MS);
  }

  static HttpClientOptions options(OriginPeer peer) {
    Scheme scheme = peer.address().scheme();
    boolean tls = scheme.tls();
    boolean h2 = peer.h2Allowed() || scheme == Scheme.H2C;
    HttpClientOptions o = new HttpClientOptions()
      .setProtocolVersion(h2 ? HttpVersion.HTTP_2 : HttpVersion.HTTP_1_1)
      .setSsl(tls)
      .setUseAlpn(tls)
      .setAlpnVersions(h2 ? List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1) : List.of(HttpVersion.HTTP_1_1))
      .setHttp2ClearTextUpgrade(scheme == Scheme.HTTP && h2)
      .setHttp2ClearTextUpgradeWithPreflightRequest(true)
      .setConnectTimeout((int) TimeUnit.SECONDS.toMillis(peer.connectTimeoutSeconds()))
      .setSslHandshakeTimeout(peer.connectTimeoutSeconds())
      .setSslHandshakeTimeoutUnit(TimeUnit.SECONDS)
      .setTcpNoDelay(true)
      .setTcpKeepAlive(true)
      .setKeepAlive(true)
      .setPipelining(false)
      .setDecompressionSupported(false)
      .setMaxHeaderSize(MAX_HEADER_BYTES)
      .setHttp2ConnectionWindowSize(connectionWindow(peer.maxStreams()))
      .setInitialSettings(new Http2Settings()
        .setPushEnabled(false)
        .setInitialWindowSize(INITIAL_STREAM_WINDOW)
        .setMaxHeaderListSize(MAX_HEADER_BYTES))
      .setTracingPolicy(TracingPolicy.IGNORE)
      .setName("origin:" + peer.zone() + ":" + peer.address());
    if (tls) {
      o.setSslEngineOptions(TlsEngine.forOrigins(peer.tlsVerify() ? peer.ca() : null));
      // SNI is the name checked against the certificate; an IP literal is never sent as SNI.
      o.setForceSni(!isIpLiteral(peer.serverName()));
      if (peer.tlsVerify()) {
        o.setVerifyHost(true).setTrustAll(false).setTrustOptions(CertificateAlerts.options(
          peer.ca() == null ? null : new PemTrustOptions().addCertValue(Buffer.buffer(peer.ca().bytes()))));
      } else {
        o.setVerifyHost(false).setTrustOptions(TrustAnyCertificate.options());
      }
    }
    return o;
  }

  /**
   * Response bytes go back to the origin's window only once the client has taken them, so a stream whose
   * client stops reading keeps up to a stream window of them. The connection's window holds one stream
   * window for every stream the connection may carry: stalled streams then hold back only themselves,
   * never the other clients' responses on the same connection (a window of 16 MiB was spent by 16 of them).
   * The bytes a stalled stream holds are bounded by its own window either way.
   */
  static int connectionWindow(int maxStreams) {
    return (int) Math.min(Integer.MAX_VALUE, Math.max(CONNECTION_WINDOW, (long) maxStreams * STREAM_WINDOW));
  }

  private static boolean isIpLiteral(String host) {
    return host.indexOf(':') >= 0 || host.chars().allMatch(c -> c == '.' || (c >= '0' && c <= '9'));
  }

  /**
   * Options for the HTTP/1.1-only client that carries WebSocket upgrades: an Upgrade cannot ride an
   * HTTP/2 stream to the origin, so these get connections of their own, each given up after the upgrade.
   */
  public static HttpClientOptions upgradeOptions(OriginPeer peer) {
    return http1Options(peer).setName("upgrade:" + peer.zone() + ":" + peer.address());
  }

  /** {@link #options} for HTTP/1.1 only: no h2 by ALPN, no h2c Upgrade. */
  static HttpClientOptions http1Options(OriginPeer peer) {
    return options(peer)
      .setProtocolVersion(HttpVersion.HTTP_1_1)
      .setAlpnVersions(List.of(HttpVersion.HTTP_1_1))
      .setHttp2ClearTextUpgrade(false)
      .setName("origin-http1:" + peer.zone() + ":" + peer.address());
  }

  /** Where and how a request to {@code peer} connects: address, SNI host and TLS. */
  public static RequestOptions upgradeRequestOptions(OriginPeer peer) {
    return new RequestOptions()
      .setServer(SocketAddress.inetSocketAddress(peer.address().port(), peer.address().host()))
      .setHost(peer.serverName())
      .setPort(peer.address().port())
      .setSsl(peer.address().scheme().tls());
  }

  static HttpConnectOptions connectOptions(OriginPeer peer) {
    return new HttpConnectOptions()
      .setServer(SocketAddress.inetSocketAddress(peer.address().port(), peer.address().host()))
      .setHost(peer.serverName())
      .setPort(peer.address().port())
      .setSsl(peer.address().scheme().tls());
  }
}
