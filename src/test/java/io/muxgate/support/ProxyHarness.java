package io.muxgate.support;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.muxgate.Muxgate;
import io.muxgate.config.ProcessConfig;
import io.muxgate.observe.ExchangeRecord;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Muxgate started in-process the way the command line starts it: a conf folder with muxgate.json and
 * zone files, every port 0, loopback only. Clients for each front-end protocol come with it.
 */
public final class ProxyHarness implements AutoCloseable {

  /**
   * Proxy event loops: 2 by default, so that requests meet origin connections of either loop (a frame
   * stream driven from its connection's loop, or from the other one through queued tasks); the pom's
   * one-loop run sets 1, where no stream crosses loops.
   */
  private static final int EVENT_LOOPS = Integer.getInteger("muxgate.test.event_loops", 2);

  private final Vertx vertx;
  private final Path confDir;
  private final Muxgate app;
  /** The latest access-log record per request path. */
  private final Map<String, ExchangeRecord> records;
  /** Every record, in order. */
  private final List<ExchangeRecord> all;
  /**
   * Every client handed out, held for the harness' life: Vert.x closes a client nobody references once the
   * garbage collector finds it, and a test that wrote {@code burst(proxy.h2cClient(), ...)} lost every
   * request of its burst to "Pool closed" when a collection came in the middle (seen under load in CI).
   */
  private final List<HttpClientAgent> clients = new CopyOnWriteArrayList<>();

  private ProxyHarness(Vertx vertx, Path confDir, Muxgate app, Map<String, ExchangeRecord> records,
                       List<ExchangeRecord> all) {
    this.vertx = vertx;
    this.confDir = confDir;
    this.app = app;
    this.records = records;
    this.all = all;
  }

  /** Starts with the given zone files (file name → JSON) and process settings over the test defaults. */
  public static ProxyHarness start(Vertx vertx, Map<String, JsonObject> zones, JsonObject processOverrides) {
    Path dir;
    try {
      dir = Files.createTempDirectory("muxgate-test");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    try {
      Files.createDirectories(dir.resolve("tenants"));
      for (Map.Entry<String, JsonObject> zone : zones.entrySet()) {
        Files.writeString(dir.resolve("tenants").resolve(zone.getKey()), zone.getValue().encodePrettily());
      }
      JsonObject process = new JsonObject()
        .put("http_port", 0).put("https_port", 0).put("admin_port", 0)
        .put("bind", "127.0.0.1").put("event_loops", EVENT_LOOPS).put("access_log", false)
        .put("config_scan_period_ms", 100).put("drain_timeout_s", 5)
        .mergeIn(processOverrides);
      Path conf = dir.resolve("muxgate.json");
      Files.writeString(conf, process.encodePrettily());
      ProcessConfig config = ProcessConfig.load(conf, Map.of());
      Map<String, ExchangeRecord> records = new ConcurrentHashMap<>();
      List<ExchangeRecord> all = new CopyOnWriteArrayList<>();
      Muxgate app = Muxgate.start(vertx, config, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
        record -> {
          all.add(record);
          if (record.path() != null) { // an HTTP/2 CONNECT without :path has none
            records.put(record.path(), record);
          }
        }).await(30, TimeUnit.SECONDS);
      return new ProxyHarness(vertx, dir, app, records, all);
    } catch (IOException e) {
      deleteTree(dir);
      throw new UncheckedIOException(e);
    } catch (Exception e) {
      deleteTree(dir);   // a test that expects the start to fail (a port in use) closes no harness
      throw new AssertionError("muxgate did not start", e);
    }
  }

  public static ProxyHarness start(Vertx vertx, Map<String, JsonObject> zones) {
    return start(vertx, zones, new JsonObject());
  }

  /** A zone file with one host and the given origins; {@code settings} may be null. */
  public static JsonObject zone(String name, String host, List<String> origins, JsonObject settings) {
    JsonObject zone = new JsonObject().put("zone", name).put("hosts", List.of(host)).put("origins", origins);
    if (settings != null) {
      zone.put("settings", settings);
    }
    return zone;
  }

  /** What the proxy logged of the latest finished request for {@code path}, or null: a test's own evidence. */
  public ExchangeRecord lastRecord(String path) {
    return records.get(path);
  }

  /** Everything the proxy logged so far, in the order the requests finished (also those without a path). */
  public List<ExchangeRecord> records() {
    return all;
  }

  public Muxgate app() {
    return app;
  }

  public Path tenantsDir() {
    return confDir.resolve("tenants");
  }

  public Path confDir() {
    return confDir;
  }

  public int httpPort() {
    return app.httpPort();
  }

  public int httpsPort() {
    return app.httpsPort();
  }

  public int adminPort() {
    return app.adminPort();
  }

  /** HTTP/1.1 client to the cleartext port, with enough connections for big bursts. */
  public HttpClientAgent h1Client() {
    return held(vertx.createHttpClient(new HttpClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(httpPort()),
      new PoolOptions().setHttp1MaxSize(300)));
  }

  /** h2c with prior knowledge to the cleartext port. */
  public HttpClientAgent h2cClient() {
    return held(vertx.createHttpClient(new HttpClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(httpPort())
      .setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false), new PoolOptions().setHttp2MaxSize(4)));
  }

  /** h2c by HTTP/1.1 Upgrade to the cleartext port. */
  public HttpClientAgent h2cUpgradeClient() {
    return held(vertx.createHttpClient(new HttpClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(httpPort())
      .setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(true), new PoolOptions().setHttp2MaxSize(4)));
  }

  /** h2 over TLS (ALPN) to the TLS port, trusting any certificate. */
  public HttpClientAgent h2TlsClient() {
    return held(vertx.createHttpClient(new HttpClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(httpsPort())
      .setSsl(true).setUseAlpn(true).setTrustAll(true).setVerifyHost(false)
      .setProtocolVersion(HttpVersion.HTTP_2), new PoolOptions().setHttp2MaxSize(4)));
  }

  private HttpClientAgent held(HttpClientAgent client) {
    clients.add(client);
    return client;
  }

  /** Rewrites one zone file in place (as an operator's editor would). */
  public void writeZone(String fileName, JsonObject zone) {
    try {
      Files.writeString(tenantsDir().resolve(fileName), zone.encodePrettily(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    try {
      app.shutdown().await(15, TimeUnit.SECONDS);
    } catch (Exception e) {
      // the Vert.x instance is closed by the test anyway
    }
    deleteTree(confDir);
  }

  /**
   * Deletes a test's temporary folder, so a test run leaves nothing in the system's temporary folder
   * (tens of thousands of proxies' config folders had piled up there).
   */
  public static void deleteTree(Path dir) {
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (IOException e) {
      // already gone
    }
  }
}
