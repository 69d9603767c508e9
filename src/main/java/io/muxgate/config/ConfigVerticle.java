package io.muxgate.config;

import io.muxgate.forward.ZoneTable;
import io.muxgate.forward.ZoneTables;
import io.muxgate.frontend.ProxyVerticle;
import io.muxgate.observe.ProxyMetrics;
import io.muxgate.origin.OriginPeer;
import io.muxgate.origin.OriginPools;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.internal.logging.Logger;
import io.vertx.core.internal.logging.LoggerFactory;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Watches {@code tenants_dir}, validates each zone file on its own, and publishes every accepted change
 * as a new {@link ZoneTable}. Once every proxy instance has acknowledged a snapshot, the pools that no
 * snapshot refers to any more are retired and the version is announced on {@link #IN_FORCE_ADDRESS}.
 * Runs as a worker verticle: file reads may block, and its handlers run one at a time, which also
 * serializes settings PATCHes so none is lost.
 */
public final class ConfigVerticle extends VerticleBase {

  public static final String PATCH_ADDRESS = "muxgate.config.patch";
  /** Published (local) with a snapshot's version once every event loop serves it. */
  public static final String IN_FORCE_ADDRESS = "muxgate.zones.in-force";
  /** How long to wait for every event loop to acknowledge a snapshot before retiring pools anyway. */
  static final long ACK_TIMEOUT_MS = 5000;
  private static final Logger log = LoggerFactory.getLogger(ConfigVerticle.class);

  private final ZoneCatalog catalog;
  private final ZoneFiles files;
  private final OriginPools pools;
  private final ProxyMetrics metrics;
  private final long scanPeriodMs;
  private final int proxyInstances;
  private final Map<Long, Pending> pending = new TreeMap<>();
  private volatile ZoneTable current;
  private String lastScanError;
  private boolean scanning;
  private boolean stopped;
  private long scanTimer;
  private int proxiesListening;

  /** A published snapshot waiting for acknowledgements, and the callers waiting for it to be in force. */
  private static final class Pending {
    int acks;
    long timer;
    final List<Promise<Void>> waiters = new ArrayList<>();
  }

  public ConfigVerticle(ZoneCatalog catalog, OriginPools pools, ProxyMetrics metrics, long scanPeriodMs,
                        int proxyInstances) {
    this.catalog = catalog;
    this.files = new ZoneFiles(catalog.dir());
    this.pools = pools;
    this.metrics = metrics;
    this.scanPeriodMs = scanPeriodMs;
    this.proxyInstances = proxyInstances;
  }

  /** Loads the zones once, before any verticle runs: bad files are reported and skipped. */
  public static ZoneTable initialTable(ZoneCatalog catalog, OriginPools pools, ProxyMetrics metrics) throws IOException {
    ZoneCatalog.ScanResult result = catalog.apply(ZoneFiles.read(catalog.dir()), true);
    report(result, catalog, metrics);
    return ZoneTables.build(1, catalog.zones(), pools, ZoneTable.EMPTY);
  }

  public ZoneTable current() {
    return current;
  }

  public ConfigVerticle startingWith(ZoneTable table) {
    this.current = table;
    return this;
  }

  @Override
  public Future<?> start() {
    vertx.eventBus().<Long>localConsumer(ProxyVerticle.APPLIED_ADDRESS, msg -> acknowledged(msg.body()));
    vertx.eventBus().<JsonObject>localConsumer(PATCH_ADDRESS, this::patch);
    vertx.setTimer(ACK_TIMEOUT_MS, id -> {
      if (!scanning) {
        log.warn("not every proxy instance reported within " + ACK_TIMEOUT_MS + " ms; scanning zone files anyway");
        startScanning();
      }
    });
    return Future.succeededFuture();
  }

  private void scan() {
    Map<String, String> current;
    try {
      current = files.read();
    } catch (IOException e) {
      if (!e.getMessage().equals(lastScanError)) {
        log.error("cannot scan zone files, keeping every zone as it is: " + ConfigException.printable(e.getMessage()));
        lastScanError = e.getMessage();
      }
      return;
    }
    lastScanError = null;
    ZoneCatalog.ScanResult result = catalog.apply(current);
    report(result, catalog, metrics);
    if (result.changed()) {
      publish();
    }
  }

  private static void report(ZoneCatalog.ScanResult result, ZoneCatalog catalog, ProxyMetrics metrics) {
    for (ConfigException rejected : result.rejected()) {
      String fileName = rejected.file() == null ? "" : Path.of(rejected.file()).getFileName().toString();
      log.error((catalog.isAccepted(fileName) ? "zone file rejected, zone keeps its last good config: "
        : "zone file rejected, zone not loaded: ") + rejected.getMessage());
      metrics.configReload(false);
    }
    for (String file : result.recovered()) {
      log.info("zone file accepted again: " + ConfigException.printable(file));
    }
    if (result.changed()) {
      metrics.configReload(true);
      catalog.zones().forEach(zone -> metrics.zoneConfigured(zone.zone()));
    }
  }

  /** Builds and publishes a new snapshot; the future completes once every event loop serves it. */
  private Future<Void> publish() {
    ZoneTable next = ZoneTables.build(current.version() + 1, catalog.zones(), pools, current);
    current = next;
    log.info("zones applied (version " + next.version() + "): " + next.zones().size() + " zone(s)");
    Pending p = new Pending();
    Promise<Void> inForce = Promise.promise();
    p.waiters.add(inForce);
    p.timer = vertx.setTimer(ACK_TIMEOUT_MS, id -> ackTimedOut(next.version()));
    pending.put(next.version(), p);
    vertx.eventBus().publish(ProxyVerticle.ZONES_ADDRESS, next);
    return inForce.future();
  }

  /**
   * Scanning starts once every proxy instance has said it listens for snapshots (each sends its version
   * once at start): a snapshot published earlier would miss an instance, which would serve a stale one.
   */
  private synchronized void startScanning() {
    if (!scanning && !stopped) {
      scanning = true;
      scanTimer = vertx.setPeriodic(scanPeriodMs, id -> scan());
    }
  }

  /**
   * Stops reading zone files, for a proxy that has stopped serving. Its Vert.x instance usually closes
   * next; when it does not (tests), the scan would go on, and report the folder once it is deleted.
   */
  public synchronized void stopScanning() {
    stopped = true;
    if (scanning) {
      vertx.cancelTimer(scanTimer);
    }
  }

  private void acknowledged(long version) {
    if (!scanning) {
      if (++proxiesListening >= proxyInstances) {
        startScanning();
      }
      return;
    }
    Pending p = pending.get(version);
    if (p != null && ++p.acks >= proxyInstances) {
      settle(version);
      vertx.eventBus().publish(IN_FORCE_ADDRESS, version);
    }
  }

  private void ackTimedOut(long version) {
    log.warn("zones version " + version + " not acknowledged by every event loop within " + ACK_TIMEOUT_MS
      + " ms; retiring unused origin pools anyway");
    settle(version);
  }

  /**
   * Every loop serves {@code version} (or the wait timed out): retire pools no snapshot uses, then, once
   * their connections are closed, the metric series of zones and origins that left.
   */
  private void settle(long version) {
    Iterator<Map.Entry<Long, Pending>> it = pending.entrySet().iterator();
    while (it.hasNext()) {
      Map.Entry<Long, Pending> e = it.next();
      if (e.getKey() > version) {
        break;
      }
      vertx.cancelTimer(e.getValue().timer);
      e.getValue().waiters.forEach(Promise::tryComplete);
      it.remove();
    }
    if (pending.isEmpty()) {
      pools.retainOnly(ZoneTables.peers(current)).onComplete(ar -> context.runOnContext(v -> retireMetrics()));
    }
  }

  /**
   * Keeps the series of the zones the newest snapshot has and of every origin, and its zone, that a pool
   * still serves or still has connections to (a snapshot published meanwhile may have made new pools, a
   * pool retired by an earlier one may still be finishing its streams, and a pool holds its gauges for
   * its whole life).
   */
  private void retireMetrics() {
    Set<String> zones = new HashSet<>();
    current.zones().forEach(zone -> zones.add(zone.name()));
    Set<OriginPeer> peers = ZoneTables.peers(current);
    peers.addAll(pools.openPeers());
    peers.forEach(peer -> zones.add(peer.zone()));
    metrics.retainOnly(zones, peers);
  }

  private void patch(Message<JsonObject> msg) {
    JsonObject body = msg.body();
    SettingsPatch.Result result = SettingsPatch.apply(catalog, body.getString("zone"), body.getString("id"),
      body.getValue("value"));
    if (result.status() != 200) {
      msg.reply(result.toJson());
      return;
    }
    startScanning();
    scan();
    Pending p = pending.get(current.version());
    if (p == null) {
      msg.reply(result.toJson());
      return;
    }
    Promise<Void> inForce = Promise.promise();
    p.waiters.add(inForce);
    inForce.future().onComplete(v -> msg.reply(result.toJson()));
  }
}
