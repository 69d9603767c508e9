package io.muxgate;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.muxgate.config.ProcessConfig;
import io.muxgate.config.Setting;
import io.muxgate.config.ZoneConfig;
import io.muxgate.config.ZoneSettings;
import io.muxgate.frontend.ServerCertificate;
import io.muxgate.origin.TlsEngine;
import io.muxgate.origin.TrustAnyCertificate;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.net.HostAndPort;
import io.vertx.core.net.KeyCertOptions;

import java.io.IOException;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The start-up warm-up ({@code warmup_s}). A JVM serves its first seconds mostly interpreted while the
 * JIT compiles the request path, and on a busy core the compiler threads take half the CPU meanwhile.
 * Before the real listeners open, this relays synthetic traffic through a throwaway proxy on loopback
 * (an in-process client, an in-process h2-over-TLS origin) so that work is done before the first real
 * client arrives. It stops once a round of traffic adds little compilation, or at the limit.
 *
 * <p>It leaves nothing behind: each of its two parts has its own Vert.x instance, metrics registry, empty
 * tenants folder and ephemeral loopback ports, all closed before the next part or the real proxy starts.
 */
final class Warmup {

  /** What the warm-up did, for its one log line. */
  record Result(long requests, long failed, int rounds, double seconds, double compileSeconds) {
  }

  /** h2 over TLS, what most clients speak, gets every other round. */
  private static final Kind[] ROTATION = {Kind.H2_TLS, Kind.HTTP1_TLS, Kind.H2_TLS, Kind.H2C};
  /**
   * Round r's zone is "warmup-r", host "r.warmup.invalid": each round starts on origin pools with no
   * connection yet, as a real zone's first burst does, which then queues for streams until connections
   * open. Requests alternate that host with the proxy's address and port (zone "warmup-0"), as real clients
   * send both.
   */
  private static final String HOST_SUFFIX = ".warmup.invalid";
  private static final long ROUND_MS = 1000;
  private static final int MIN_ROUNDS = 2 * ROTATION.length;
  private static final double QUIET_COMPILE_SHARE = 0.05;
  /** The first of the two parts' share of the time ({@link #run}). */
  private static final double FIRST_PART_SHARE = 1.0 / 3;
  private static final int STREAMS_IN_FLIGHT = 64;
  /** A quarter of the streams in flight: an origin's connections fill, also when two origins share them. */
  private static final int STREAMS_PER_ORIGIN_CONNECTION = 16;
  /**
   * Headers as real clients and origins send them: the header paths (HPACK, hop-by-hop filtering) compiled
   * for bare requests would be thrown away at the first real one.
   */
  private static final MultiMap CLIENT_HEADERS = HttpHeaders.headers()
    .add("user-agent", "Mozilla/5.0 (X11; Linux x86_64) muxgate-warmup/1.0")
    .add("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
    .add("accept-encoding", "gzip, deflate, br")
    .add("accept-language", "en-US,en;q=0.5")
    .add("cookie", "session=0123456789abcdef; theme=dark");
  private static final MultiMap ORIGIN_HEADERS = HttpHeaders.headers()
    .add("content-type", "application/octet-stream")
    .add("cache-control", "public, max-age=60")
    .add("date", "Sun, 22 Nov 2026 00:00:00 GMT")
    .add("etag", "\"5f2b-1a2b3c\"")
    .add("vary", "accept-encoding");
  /**
   * A query that makes {@code :path} too large for the peer's HPACK table (4 KiB by default) and long
   * enough for Huffman coding, on one request in 32, and a response header as long on its answer. Netty's
   * encoder, which the warm-up's client and origin use, otherwise indexes every header and codes none,
   * while nghttp2 (curl, h2load, Node) sends {@code :path} and {@code content-length} as Huffman-coded
   * literals without indexing: HPACK decoding compiled without that branch was thrown away at the first
   * real request.
   */
  private static final String LONG_QUERY = "?q=" + "a1b2c3d4e5f6".repeat(350);
  private static final Buffer SMALL = Buffer.buffer(new byte[1024]);
  private static final Buffer LARGE = Buffer.buffer(new byte[64 * 1024]);
  private static final Buffer UPLOAD = Buffer.buffer(new byte[4 * 1024]);

  /** Client sides of the front end; rounds take {@link #ROTATION} in turn so each path gets compiled. */
  private enum Kind {
    H2_TLS, HTTP1_TLS, H2C;

    HttpClientOptions options(int tlsPort, int clearPort) {
      HttpClientOptions o = new HttpClientOptions().setDefaultHost("127.0.0.1");
      return switch (this) {
        case H2_TLS -> tls(o.setDefaultPort(tlsPort)).setProtocolVersion(HttpVersion.HTTP_2);
        case HTTP1_TLS -> tls(o.setDefaultPort(tlsPort))
          .setAlpnVersions(List.of(HttpVersion.HTTP_1_1)).setProtocolVersion(HttpVersion.HTTP_1_1);
        case H2C -> o.setDefaultPort(clearPort).setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false);
      };
    }

    private static HttpClientOptions tls(HttpClientOptions o) {
      return o.setSsl(true).setTrustOptions(TrustAnyCertificate.options()).setVerifyHost(false).setUseAlpn(true)
        .setSslEngineOptions(TlsEngine.options());
    }

    PoolOptions pool() {
      return this == HTTP1_TLS ? new PoolOptions().setHttp1MaxSize(STREAMS_IN_FLIGHT)
        : new PoolOptions().setHttp2MaxSize(4);
    }
  }

  private static final Logger MUXGATE_LOG = Logger.getLogger("io.muxgate");
  private static final CompilationMXBean JIT = ManagementFactory.getCompilationMXBean();

  private final Vertx vertx;
  private final ProcessConfig real;
  private long requests;
  private long failed;
  private int rounds;

  private Warmup(Vertx vertx, ProcessConfig real) {
    this.vertx = vertx;
    this.real = real;
  }

  /**
   * Runs the warm-up for at most {@code real.warmupSeconds()}, in two parts, each on a Vert.x from
   * {@code vertxFactory} (given a throwaway registry) closed with everything it opened at the part's end.
   *
   * <p>Closing a proxy and its Vert.x takes branches that traffic does not: writes and flushes to sockets
   * whose peer has gone, pipelines being taken down, event loops shutting down. Code compiled without those
   * branches is thrown away when they are first taken. With one part that happened just before the real
   * listeners opened, and the first second of real traffic paid up to 0.4 s of compiler time rebuilding
   * Netty's write and flush paths (seen with -XX:+LogCompilation). The first part's close puts those
   * branches in the profiles, so what the second part compiles keeps them through its own close.
   */
  static Result run(ProcessConfig real, Function<PrometheusMeterRegistry, Vertx> vertxFactory) throws Exception {
    long compileStart = JIT.getTotalCompilationTime();
    long start = System.nanoTime();
    long deadline = start + TimeUnit.SECONDS.toNanos(real.warmupSeconds());
    Level level = MUXGATE_LOG.getLevel();
    // the throwaway proxy would otherwise log its own "listening" line and any hiccup as if it served traffic
    MUXGATE_LOG.setLevel(Level.SEVERE);
    try {
      Warmup first = part(real, vertxFactory, start + (long) ((deadline - start) * FIRST_PART_SHARE), 0, false);
      Warmup second = part(real, vertxFactory, deadline, first.rounds, true);
      return new Result(first.requests + second.requests, first.failed + second.failed,
        first.rounds + second.rounds, (System.nanoTime() - start) / 1e9,
        (JIT.getTotalCompilationTime() - compileStart) / 1e3);
    } finally {
      MUXGATE_LOG.setLevel(level);
    }
  }

  /** One part: a Vert.x, origins and a throwaway proxy, traffic until {@code deadline}, then all closed. */
  private static Warmup part(ProcessConfig real, Function<PrometheusMeterRegistry, Vertx> vertxFactory,
                             long deadline, int roundsBefore, boolean mayStopEarly) throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Vertx vertx = vertxFactory.apply(registry);
    Path tenants = Files.createTempDirectory("muxgate-warmup");
    tenants.toFile().deleteOnExit();   // SIGTERM during the warm-up exits before the finally below
    try {
      Warmup part = new Warmup(vertx, real);
      part.drive(tenants, registry, deadline, roundsBefore, mayStopEarly);
      return part;
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
      registry.close();
      deleteQuietly(tenants);
    }
  }

  private void drive(Path tenants, PrometheusMeterRegistry registry, long deadline, int roundsBefore,
                     boolean mayStopEarly) throws Exception {
    // Origins as real ones come: one announcing a header-list limit (Netty's 8 KiB default, as Vert.x and
    // Netty origins do) and one announcing none (as Node does); zones of one origin and of two; a stream
    // cap below the streams in flight, so connections fill and requests wait for a stream. Code compiled
    // without those branches is thrown away at the first real burst (seen with -XX:+LogCompilation as
    // uncommon traps in the pool, the exchange and the origin stream's head).
    KeyCertOptions certificate = ServerCertificate.load(real);   // one for both origins
    HttpServer origin = startOrigin(certificate, new Http2Settings());
    HttpServer unlimitedOrigin = startOrigin(certificate,
      new Http2Settings().setMaxHeaderListSize(Http2CodecUtil.MAX_HEADER_LIST_SIZE));
    ProcessConfig proxyConfig = new ProcessConfig(0, 0, 0, "127.0.0.1", "127.0.0.1", real.tlsCertFile(),
      real.tlsKeyFile(), tenants, TimeUnit.HOURS.toMillis(1), real.eventLoops(), null, false, 0, false, 0,
      real.clientIdleTimeoutSeconds());
    ZoneSettings settings =
      ZoneSettings.from(Map.of(Setting.ORIGIN_H2_MAX_STREAMS, (long) STREAMS_PER_ORIGIN_CONNECTION));
    List<ZoneConfig> zones = new ArrayList<>();
    for (int r = 0; r <= real.warmupSeconds() * 1000 / ROUND_MS; r++) {
      List<String> hosts = r == 0 ? List.of(r + HOST_SUFFIX, "127.0.0.1") : List.of(r + HOST_SUFFIX);
      ZoneConfig zone = r % 2 == 0
        ? ZoneConfig.loopback("warmup-" + r, hosts, origin.actualPort(), unlimitedOrigin.actualPort())
        : ZoneConfig.loopback("warmup-" + r, hosts, unlimitedOrigin.actualPort());
      zones.add(zone.withSettings(settings));
    }
    Muxgate proxy = Muxgate.startWith(vertx, proxyConfig, registry, zones).await(30, TimeUnit.SECONDS);
    int quietRounds = 0;
    try {
      while (System.nanoTime() < deadline
        && (!mayStopEarly || roundsBefore + rounds < MIN_ROUNDS || quietRounds < 2)) {
        Kind kind = ROTATION[(roundsBefore + rounds) % ROTATION.length];
        long compiled = JIT.getTotalCompilationTime();
        long roundStart = System.nanoTime();
        long roundMs = Math.max(1, Math.min(ROUND_MS, TimeUnit.NANOSECONDS.toMillis(deadline - roundStart)));
        String host = rounds % zones.size() + HOST_SUFFIX;
        round(kind.options(proxy.httpsPort(), proxy.httpPort()), kind.pool(), host, roundMs)
          .await(roundMs + 30_000, TimeUnit.MILLISECONDS);
        double roundWallMs = (System.nanoTime() - roundStart) / 1e6;
        boolean quiet = JIT.getTotalCompilationTime() - compiled < QUIET_COMPILE_SHARE * roundWallMs;
        quietRounds = quiet ? quietRounds + 1 : 0;
        rounds++;
      }
    } finally {
      proxy.shutdown().await(10, TimeUnit.SECONDS);
    }
  }

  private HttpServer startOrigin(KeyCertOptions certificate, Http2Settings settings) throws Exception {
    return vertx.createHttpServer(new HttpServerOptions()
        .setHost("127.0.0.1").setPort(0).setSsl(true).setUseAlpn(true).setSslEngineOptions(TlsEngine.options())
        .setKeyCertOptions(certificate).setInitialSettings(settings))
      .requestHandler(Warmup::answer)
      .listen().await(10, TimeUnit.SECONDS);
  }

  /** One client, {@link #STREAMS_IN_FLIGHT} request loops for {@code ms}, then the client closes (churn). */
  private Future<Void> round(HttpClientOptions options, PoolOptions pool, String host, long ms) {
    HttpClientAgent client = vertx.createHttpClient(options, pool);
    HostAndPort[] authorities = {
      HostAndPort.create(host, -1), HostAndPort.create("127.0.0.1", options.getDefaultPort())};
    Context context = vertx.getOrCreateContext();
    long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
    Promise<Void> done = Promise.promise();
    int[] running = {STREAMS_IN_FLIGHT};
    context.runOnContext(v -> {
      for (int i = 0; i < STREAMS_IN_FLIGHT; i++) {
        loop(client, authorities, end, i, () -> {
          if (--running[0] == 0) {
            done.complete();
          }
        });
      }
    });
    return done.future().eventually(() -> client.close());
  }

  private void loop(HttpClientAgent client, HostAndPort[] authorities, long end, long n, Runnable finished) {
    if (System.nanoTime() >= end) {
      finished.run();
      return;
    }
    boolean upload = n % 16 == 5;
    String path = n % 8 == 3 ? "/64k" : n % 32 == 1 ? "/1k" + LONG_QUERY : "/1k";
    client.request(upload ? HttpMethod.POST : HttpMethod.GET, path)
      .compose(r -> {
        r.authority(authorities[(int) (n & 1)]);
        r.headers().addAll(CLIENT_HEADERS);
        return upload ? r.send(UPLOAD) : r.send();
      })
      .compose(response -> response.body().map(body -> response.statusCode() == 200))
      .onComplete(ar -> {
        requests++;
        if (ar.succeeded() && ar.result()) {
          loop(client, authorities, end, n + STREAMS_IN_FLIGHT + 1, finished);
        } else {
          failed++;   // and this loop stops: a refused connection fails at once, and would recurse
          finished.run();
        }
      });
  }

  /**
   * Answers on the next turn of the loop: a Vert.x 5.0 TLS server that writes its response from inside the
   * request handler, on a connection whose client raised the connection window early (Muxgate does), stops
   * after the first 64 KiB of DATA on that connection. Measured with nghttp -W 20 as well; not Muxgate's.
   */
  private static void answer(HttpServerRequest request) {
    if (request.method() == HttpMethod.POST) {
      request.body().onComplete(ar -> request.response().end(SMALL));
    } else {
      Buffer body = request.path().equals("/64k") ? LARGE : SMALL;
      boolean longHeader = request.query() != null;
      Vertx.currentContext().runOnContext(v -> {
        request.response().headers().addAll(ORIGIN_HEADERS);
        if (longHeader) {
          request.response().headers().add("link", LONG_QUERY);
        }
        request.response().end(body);
      });
    }
  }

  private static void deleteQuietly(Path dir) {
    try {
      Files.deleteIfExists(dir);
    } catch (IOException ignored) {
      // an empty temporary folder left behind is harmless
    }
  }
}
