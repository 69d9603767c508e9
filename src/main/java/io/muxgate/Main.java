package io.muxgate;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.muxgate.config.ConfigException;
import io.muxgate.config.ProcessConfig;
import io.muxgate.frontend.ServerCertificate;
import io.muxgate.observe.ProxyMetrics;
import io.muxgate.observe.RateLimitedLog;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;

import sun.misc.Signal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/** {@code java -jar muxgate.jar [--conf PATH]}; PATH defaults to $MUXGATE_CONF, then conf/muxgate.json. */
public final class Main {

  /**
   * Netty's HTTP/2 codec logs at INFO every DATA frame that arrives for a stream it has reset — thousands
   * of lines a second when clients cancel under load. Held here: JUL keeps loggers only weakly.
   */
  private static final Logger NETTY_HTTP2 = Logger.getLogger("io.netty.handler.codec.http2");
  /**
   * Vert.x's default eviction handler warns "Connection evicted", with nothing else, for each HTTP/1.1
   * connection of an h2c Upgrade attempt that closes before the Upgrade is settled (an origin that never
   * answers it, whose socket is closed at the setup deadline): the 522 and its metric already say it.
   */
  private static final Logger VERTX_EVICTIONS =
    Logger.getLogger("io.vertx.core.http.impl.HttpClientConnectionInternal");

  /**
   * Vert.x logs as SEVERE, with the exception's message alone, each exception on a connection that has no
   * handler for it: an origin connection whose h2c Upgrade preflight gets an invalid answer (a bare LF, a
   * status that is no number) fails so before the proxy holds it, once per request sent to such an origin,
   * whose 520 and access log line say it already. One line a minute, with the count of those left out.
   */
  private static final Logger VERTX_CONNECTION_ERRORS = Logger.getLogger("io.vertx.core.net.impl.ConnectionBase");

  private static final String NETTY_ALLOCATOR = "io.netty.allocator.type";
  /** Vert.x's switch from its own DNS resolver to the JDK's. */
  private static final String JDK_RESOLVER = "vertx.disableDnsResolver";
  /** How long a second stop signal waits for client connections to close before exiting anyway. */
  private static final long FORCED_STOP_SECONDS = 3;
  private static final long START_SECONDS = 120;

  private Main() {
  }

  public static void main(String[] args) {
    System.setProperty("java.util.logging.SimpleFormatter.format", "%1$tFT%1$tT.%1$tLZ %4$s %3$s: %5$s%6$s%n");
    System.setProperty("vertx.disableFileCPResolving", "true");
    // Netty 4.2's default adaptive allocator does not pool buffers above its size classes, so relaying
    // 64 KiB responses allocated (and zeroed) fresh direct memory for large reads and TLS records: ~6 %
    // of CPU. The classic pooled allocator keeps them; -Dio.netty.allocator.type=... still overrides.
    if (System.getProperty(NETTY_ALLOCATOR) == null) {
      System.setProperty(NETTY_ALLOCATOR, "pooled");
    }
    NETTY_HTTP2.setLevel(Level.WARNING);
    VERTX_EVICTIONS.setLevel(Level.SEVERE);
    VERTX_CONNECTION_ERRORS.setFilter(new RateLimitedLog(TimeUnit.MINUTES.toNanos(1)));
    Path confPath;
    ProcessConfig config;
    try {
      confPath = confPath(args);
      config = ProcessConfig.load(confPath, System.getenv());
      if (!Files.isDirectory(config.tenantsDir())) {
        throw new ConfigException(confPath.toString(), "tenants_dir", config.tenantsDir() + " is not a folder");
      }
      ServerCertificate.check(confPath.toString(), config);
    } catch (ConfigException e) {
      System.err.println("muxgate: " + e.getMessage());
      System.exit(2);
      return;
    }
    if (config.warmupSeconds() > 0) {
      warmUp(config);
    }
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Vertx vertx = vertx(config, registry, ProxyMetrics.vertxBuiltins());
    // The stop is in place before the listeners open: a SIGTERM right after they did (a pod stopped as it
    // starts) found no hook yet, and the JVM exited at once with 143 and an IllegalStateException.
    CompletableFuture<Muxgate> started = new CompletableFuture<>();
    stopGracefully(config, vertx, started);
    ignoreHangUp(config);
    System.err.println("muxgate: transport " + (vertx.isNativeTransportEnabled()
      ? "native epoll (TCP keep-alive tuning applies)"
      : "NIO (native epoll unavailable: TCP keep-alive tuning is ignored)"));
    if (Boolean.getBoolean(JDK_RESOLVER)) {
      // Vert.x then resolves through Netty's DefaultAddressResolverGroup: InetAddress, on the asking thread.
      System.err.println("muxgate: warning: " + JDK_RESOLVER + " is set: origin names are looked up with the JDK's"
        + " blocking resolver on the event loop opening each connection, whose requests wait while DNS answers;"
        + " unset, Vert.x's asynchronous resolver does it");
    }
    try {
      started.complete(Muxgate.start(vertx, config, registry).await(START_SECONDS, TimeUnit.SECONDS));
    } catch (Exception e) {
      started.completeExceptionally(e);
      Throwable cause = e.getCause() != null && e instanceof java.util.concurrent.ExecutionException ? e.getCause() : e;
      System.err.println("muxgate: failed to start: " + cause.getMessage());
      vertx.close();
      System.exit(1);
    }
  }

  /**
   * On SIGTERM or SIGINT: once the start is over (a signal during it waits for it), readiness turns 503 and
   * the drain runs; a failed start exits as it would have.
   */
  private static void stopGracefully(ProcessConfig config, Vertx vertx, CompletableFuture<Muxgate> started) {
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      Muxgate app;
      try {
        app = started.get(START_SECONDS, TimeUnit.SECONDS);
      } catch (Exception notStarted) {
        return;
      }
      long start = System.nanoTime();
      stopAtOnceOnSecondSignal(app);
      // stderr, not the logger: the JDK resets its log handlers in a shutdown hook of its own.
      System.err.println("muxgate: stopping: " + app.inFlight() + " request(s) in flight get up to "
        + config.drainTimeoutSeconds() + " s to finish");
      try {
        app.shutdown().await(config.drainTimeoutSeconds() + 5L, TimeUnit.SECONDS);
        vertx.close().await(5, TimeUnit.SECONDS);
        app.closeAccessLog();
        System.err.printf("muxgate: stopped after %.1f s%n", (System.nanoTime() - start) / 1e9);
      } catch (Exception e) {
        System.err.println("muxgate: shutdown did not complete: " + e);
        return; // the JVM exits with the signal's status (143 for SIGTERM)
      }
      // A drain that ran its course is a clean stop: status 0, as HAProxy's and nginx's graceful stops
      // give, rather than the JVM's 128 + signal (which systemd counts as a failure unless told).
      System.out.flush();
      System.err.flush();
      Runtime.getRuntime().halt(0);
    }, "muxgate-shutdown"));
  }

  /**
   * Once the drain runs, a second SIGTERM or SIGINT stops at once, as a second Ctrl-C does uvicorn:
   * the JVM would take it as one more request to exit and ignore it, leaving an operator nothing
   * short of SIGKILL, which loses the access log's last lines.
   */
  private static void stopAtOnceOnSecondSignal(Muxgate app) {
    for (String name : new String[] {"TERM", "INT"}) {
      try {
        Signal.handle(new Signal(name), signal -> stopNow(app, signal));
      } catch (IllegalArgumentException unavailable) {
        // the JVM keeps this signal (-Xrs) or the platform has none
      }
    }
  }

  /**
   * Cuts what is in flight, writes out the access log (the cut requests' lines included) and exits with
   * the signal's status (143 for SIGTERM, 130 for SIGINT): a stop that cut requests is not a clean one.
   */
  private static void stopNow(Muxgate app, Signal signal) {
    int status = 128 + signal.getNumber();
    System.err.println("muxgate: second SIG" + signal.getName() + " during the drain: stopping now, cutting "
      + app.inFlight() + " request(s) in flight");
    try {
      app.stopNow().await(FORCED_STOP_SECONDS, TimeUnit.SECONDS);
    } catch (Exception e) {
      System.err.println("muxgate: client connections not all closed: " + e);
    }
    app.closeAccessLog();
    System.err.println("muxgate: stopped at once, exit status " + status);
    System.out.flush();
    System.err.flush();
    Runtime.getRuntime().halt(status);
  }

  /**
   * SIGHUP would stop the JVM like SIGTERM; operators of nginx and HAProxy send it to reload (systemd's
   * ExecReload often does). Zone files reload by themselves, so it only says so: the process config is
   * read at start. {@code sun.misc.Signal} (module jdk.unsupported, hence javac's warning) is the JDK's
   * only way to handle a signal.
   */
  private static void ignoreHangUp(ProcessConfig config) {
    try {
      Signal.handle(new Signal("HUP"), signal -> System.err.println("muxgate: SIGHUP ignored: zone files "
        + "are re-read every " + config.configScanPeriodMs() + " ms; muxgate.json changes need a restart"));
    } catch (IllegalArgumentException unsupported) {
      // no SIGHUP on this platform
    }
  }

  static Vertx vertx(ProcessConfig config, PrometheusMeterRegistry registry, MicrometerMetricsOptions metrics) {
    VertxOptions options = new VertxOptions()
      .setPreferNativeTransport(true)
      .setEventLoopPoolSize(config.proxyInstances())
      .setMetricsOptions(metrics);
    return Vertx.builder().with(options).withMetrics(new MicrometerMetricsFactory(registry)).build();
  }

  /** Runs {@link Warmup} on a Vert.x built like the real one; a failed warm-up only costs its time. */
  private static void warmUp(ProcessConfig config) {
    MicrometerMetricsOptions metrics = ProxyMetrics.vertxBuiltins().setRegistryName("muxgate-warmup");
    try {
      Warmup.Result r = Warmup.run(config, registry -> vertx(config, registry, metrics));
      System.err.printf("muxgate: warm-up: %d requests (%d failed) in %d rounds, %.1f s, "
        + "compiler threads busy %.1f s%n", r.requests(), r.failed(), r.rounds(), r.seconds(), r.compileSeconds());
    } catch (Exception e) {
      System.err.println("muxgate: warm-up failed, starting cold: " + e);
    }
  }

  private static Path confPath(String[] args) {
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--conf") && i + 1 < args.length) {
        return Path.of(args[i + 1]);
      }
      if (args[i].startsWith("--conf=")) {
        return Path.of(args[i].substring("--conf=".length()));
      }
      if (args[i].equals("--help") || args[i].equals("-h")) {
        System.out.println("usage: java -jar muxgate.jar [--conf PATH]   (PATH defaults to $MUXGATE_CONF, then "
          + "conf/muxgate.json)");
        System.exit(0);
      }
      throw new ConfigException(null, null, "unknown argument \"" + args[i] + "\"; usage: muxgate [--conf PATH]");
    }
    String env = System.getenv("MUXGATE_CONF");
    return Path.of(env != null && !env.isEmpty() ? env : "conf/muxgate.json");
  }
}
