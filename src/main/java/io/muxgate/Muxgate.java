package io.muxgate;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.muxgate.admin.AdminVerticle;
import io.muxgate.config.ConfigVerticle;
import io.muxgate.config.ProcessConfig;
import io.muxgate.config.ZoneCatalog;
import io.muxgate.config.ZoneConfig;
import io.muxgate.demo.DemoOrigin;
import io.muxgate.forward.HeldBytes;
import io.muxgate.forward.HeldResponseBytes;
import io.muxgate.forward.Zone;
import io.muxgate.forward.ZoneTable;
import io.muxgate.frontend.ProxyVerticle;
import io.muxgate.frontend.ServerCertificate;
import io.muxgate.observe.AccessLog;
import io.muxgate.observe.ExchangeObserver;
import io.muxgate.observe.ProcessMetrics;
import io.muxgate.observe.ProxyMetrics;
import io.muxgate.origin.OriginPools;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import io.vertx.core.internal.logging.Logger;
import io.vertx.core.internal.logging.LoggerFactory;
import io.vertx.core.net.KeyCertOptions;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One running proxy: config verticle, one proxy verticle per event loop, admin verticle, and the origin
 * pools they share. {@link #start} is what the command line and the tests both use.
 */
public final class Muxgate {

  private static final Logger log = LoggerFactory.getLogger(Muxgate.class);

  private final Vertx vertx;
  private final ProcessConfig config;
  private final ProxyMetrics metrics;
  private final OriginPools pools;
  /** Shared by every event loop: one budget for the whole process's memory. */
  private final HeldResponseBytes heldResponseBytes = HeldResponseBytes.ofDirectMemory();
  /** Upload bytes are copied to the heap: a budget of its own, shared by every event loop too. */
  private final HeldBytes heldUploadBytes = HeldBytes.ofHeap();
  private final AtomicBoolean ready = new AtomicBoolean();
  /** Told of every finished request after the metrics and the access log; {@link ExchangeObserver#NONE} but in tests. */
  private final ExchangeObserver also;
  private final List<ProxyVerticle> proxies = new ArrayList<>();
  private AccessLog accessLog;
  private DemoOrigin demo;
  private ConfigVerticle configVerticle;
  private AdminVerticle admin;

  private Muxgate(Vertx vertx, ProcessConfig config, PrometheusMeterRegistry registry, ExchangeObserver also) {
    this.vertx = vertx;
    this.config = config;
    this.metrics = new ProxyMetrics(registry);
    this.pools = new OriginPools(vertx, metrics);
    this.also = also;
  }

  public static Future<Muxgate> start(Vertx vertx, ProcessConfig config, PrometheusMeterRegistry registry) {
    return start(vertx, config, registry, ExchangeObserver.NONE);
  }

  /** {@link #start(Vertx, ProcessConfig, PrometheusMeterRegistry)}, with {@code also} told of every finished request. */
  public static Future<Muxgate> start(Vertx vertx, ProcessConfig config, PrometheusMeterRegistry registry,
                                      ExchangeObserver also) {
    if (registry != null) {
      ProcessMetrics.bindTo(registry);
    }
    return launch(vertx, config, registry, also, List.of());
  }

  /** A proxy serving {@code zones} besides the tenant files' (and the demo's); binds no JVM metrics. */
  static Future<Muxgate> startWith(Vertx vertx, ProcessConfig config, PrometheusMeterRegistry registry,
                                   List<ZoneConfig> zones) {
    return launch(vertx, config, registry, ExchangeObserver.NONE, zones);
  }

  private static Future<Muxgate> launch(Vertx vertx, ProcessConfig config, PrometheusMeterRegistry registry,
                                        ExchangeObserver also, List<ZoneConfig> zones) {
    Muxgate app = new Muxgate(vertx, config, registry, also);
    return app.deploy(zones).map(v -> app);
  }

  private Future<Void> deploy(List<ZoneConfig> zones) {
    vertx.eventBus().registerDefaultCodec(ZoneTable.class, new LocalCodec<>(ZoneTable.class));
    Future<List<ZoneConfig>> builtIn = config.demoOrigin()
      ? (demo = new DemoOrigin()).start(vertx).map(d -> concat(zones, d.zone()))
      : Future.succeededFuture(zones);
    return builtIn.compose(inCode -> vertx.executeBlocking(() -> {
      ZoneCatalog catalog = new ZoneCatalog(config.tenantsDir(), inCode);
      ZoneTable initial = ConfigVerticle.initialTable(catalog, pools, metrics);
      configVerticle = new ConfigVerticle(catalog, pools, metrics, config.configScanPeriodMs(), config.proxyInstances())
        .startingWith(initial);
      return initial;
    })).compose(initial -> {
      log.info("loaded " + initial.zones().size() + " zone(s) from " + config.tenantsDir());
      return vertx.deployVerticle(configVerticle, new DeploymentOptions().setThreadingModel(ThreadingModel.WORKER))
        .compose(id -> deployProxies(initial));
    }).compose(v -> {
      admin = new AdminVerticle(config, configVerticle::current, ready::get, metricsRegistry());
      return vertx.deployVerticle(admin);
    }).map(id -> {
      ready.set(true);
      log.info("muxgate listening: http " + httpPort() + ", https " + httpsPort() + ", admin " + adminPort()
        + ", " + config.proxyInstances() + " event loop(s)");
      return null;
    });
  }

  private static List<ZoneConfig> concat(List<ZoneConfig> zones, ZoneConfig more) {
    List<ZoneConfig> all = new ArrayList<>(zones);
    all.add(more);
    return all;
  }

  private Future<String> deployProxies(ZoneTable initial) {
    return vertx.executeBlocking(() -> ServerCertificate.load(config))
      .compose(keyCert -> deployProxies(initial, keyCert));
  }

  private Future<String> deployProxies(ZoneTable initial, KeyCertOptions keyCert) {
    ExchangeObserver observer = metrics;
    if (config.accessLog()) {
      accessLog = new AccessLog();
      metrics.accessLogDrops(accessLog);
      observer = metrics.andThen(accessLog);
    }
    if (also != ExchangeObserver.NONE) {
      observer = observer.andThen(also);
    }
    ExchangeObserver finalObserver = observer;
    return vertx.deployVerticle(() -> {
      ProxyVerticle proxy = new ProxyVerticle(config, keyCert, initial, finalObserver, metrics, pools, heldResponseBytes,
        heldUploadBytes);
      synchronized (proxies) {
        proxies.add(proxy);
      }
      return proxy;
    }, new DeploymentOptions().setInstances(config.proxyInstances()));
  }

  private PrometheusMeterRegistry metricsRegistry() {
    return metrics.registry() instanceof PrometheusMeterRegistry p ? p : null;
  }

  public int httpPort() {
    return proxies.get(0).actualPort(false);
  }

  public int httpsPort() {
    return proxies.get(0).actualPort(true);
  }

  public int adminPort() {
    return admin.actualPort();
  }

  public ZoneTable zones() {
    return configVerticle.current();
  }

  public OriginPools pools() {
    return pools;
  }

  /** Client connections, over all event loops, whose HTTP/2 streams the front end runs as frames. */
  public int frontStreamConnections() {
    synchronized (proxies) {
      return proxies.stream().mapToInt(ProxyVerticle::frontStreamConnections).sum();
    }
  }

  /** Client connections open now over all event loops, as their loops last left them. */
  public int clientConnections() {
    synchronized (proxies) {
      return proxies.stream().mapToInt(ProxyVerticle::clientConnections).sum();
    }
  }

  /**
   * Requests admitted and not yet over, open WebSocket tunnels among them, every zone and event loop together:
   * zones a reload removed while their requests ran included.
   */
  public int inFlight() {
    int sum = 0;
    ZoneTable current = configVerticle.current();
    for (Zone zone : current.zones()) {
      sum += zone.inFlight().get();
    }
    for (AtomicInteger removed : current.removedInFlight()) {
      sum += removed.get();
    }
    synchronized (proxies) {
      return sum + proxies.stream().mapToInt(ProxyVerticle::openTunnels).sum();
    }
  }

  public boolean isReady() {
    return ready.get();
  }

  /**
   * Graceful stop: readiness turns 503, listeners stop accepting and send GOAWAY, in-flight requests
   * get up to {@code drain_timeout_s} to finish, then zone files are no longer read and origin connections
   * close.
   */
  public Future<Void> shutdown() {
    ready.set(false);
    List<ProxyVerticle> all;
    synchronized (proxies) {
      all = List.copyOf(proxies);
    }
    // Every listener closed, what the kernel held for it accepted, before any event loop drains: Vert.x's
    // shutdown would close a listener at once, and the kernel reset what it still held for it.
    List<Future<Void>> closed = new ArrayList<>();
    for (ProxyVerticle proxy : all) {
      closed.add(proxy.stopAccepting(config.drainTimeoutSeconds()));
    }
    return Future.join(closed).transform(c -> {
      List<Future<Void>> drains = new ArrayList<>();
      for (ProxyVerticle proxy : all) {
        drains.add(proxy.drain(config.drainTimeoutSeconds()));
      }
      return Future.join(drains);
    }).transform(ar -> {
      configVerticle.stopScanning();
      pools.closeAll();
      return demo != null ? demo.stop() : Future.succeededFuture();
    });
  }

  /**
   * The stop that does not wait: readiness turns 503, every client connection closes now, requests in
   * flight included, and origin connections are told to close. Completes once the client side is closed.
   */
  public Future<Void> stopNow() {
    ready.set(false);
    List<Future<Void>> cuts = new ArrayList<>();
    synchronized (proxies) {
      for (ProxyVerticle proxy : proxies) {
        cuts.add(proxy.cut());
      }
    }
    return Future.join(cuts).transform(ar -> {
      configVerticle.stopScanning();
      pools.closeAll();
      return Future.succeededFuture();
    });
  }

  /**
   * Writes out the access log and stops its writer: last, once Vert.x is closed, so that the lines of
   * requests the drain cut (their connections close as the drain ends) are in it.
   */
  public void closeAccessLog() {
    if (accessLog != null) {
      accessLog.close();
    }
  }
}
