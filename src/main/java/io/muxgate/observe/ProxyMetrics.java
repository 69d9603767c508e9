package io.muxgate.observe;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.muxgate.origin.OriginPeer;
import io.muxgate.origin.PoolEvents;
import io.vertx.micrometer.MetricsDomain;
import io.vertx.micrometer.MicrometerMetricsOptions;

import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Muxgate's own Prometheus metrics. Label values come from config (zone names, origin URLs) and from a
 * bounded set of status codes, never from requests. Meters are looked up once and cached, so the
 * request path does a map read and an increment.
 */
public final class ProxyMetrics implements ExchangeObserver, PoolEvents {

  private static final Duration[] BUCKETS = {
    Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50),
    Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1),
    Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30),
    // Up to past the default proxy_read_timeout (100 s), so that 524s land in a bucket of their own.
    Duration.ofSeconds(60), Duration.ofSeconds(120)};
  /** The HELP line of each family. */
  private static final Map<String, String> HELP = Map.ofEntries(
    Map.entry("muxgate.requests", "Requests answered, by zone and status code sent to the client"),
    Map.entry("muxgate.request.duration", "Time from the request's arrival to the end of its response"),
    Map.entry("muxgate.origin.errors", "Requests failed at the origin (520..526), by zone and status"),
    Map.entry("muxgate.origin.replays", "Requests sent again because the origin did not process them, by reason"),
    Map.entry("muxgate.config.reloads", "Zone file changes applied or rejected"),
    Map.entry("muxgate.access.log.dropped", "Access log lines dropped because stdout did not take them in time"),
    Map.entry("muxgate.origin.connections", "Origin connections open now"),
    Map.entry("muxgate.origin.connections.opened", "Origin connections opened since start"),
    Map.entry("muxgate.origin.ejections", "Times an origin was taken out of balancing by passive health"
      + " (connect or certificate failures, five failed requests in a row)"),
    Map.entry("muxgate.origin.connections.abandoned", "Origin sockets closed because their connection was not"
      + " ready within the setup deadline (no HTTP/2 SETTINGS, no answer to the h2c Upgrade)"),
    Map.entry("muxgate.origin.streams.active", "Requests on an origin connection now"),
    Map.entry("muxgate.origin.requests.queued",
      "Requests waiting for an origin stream now (every connection full, or opening)"));
  private static final String NO_ZONE = "";

  private final MeterRegistry registry;
  private final Map<String, ZoneMeters> zones = new ConcurrentHashMap<>();
  private final Map<String, GaugeSeries> gauges = new ConcurrentHashMap<>();
  private final Map<String, Counter> counters = new ConcurrentHashMap<>();

  /** The statuses of {@code muxgate_origin_errors_total}. */
  private static final int FIRST_ORIGIN_ERROR = 520;
  private static final int LAST_ORIGIN_ERROR = 526;

  /**
   * Both reload results are exported at 0 from the start: a series that appears only with its first
   * event gives {@code increase()} nothing to compare with, so the first rejected zone file would not
   * show in an alert on it, and /metrics would lack a family the contract lists.
   */
  public ProxyMetrics(MeterRegistry registry) {
    this.registry = registry;
    counter("muxgate.config.reloads", "result", "applied");
    counter("muxgate.config.reloads", "result", "rejected");
  }

  /**
   * A zone is served: its origin error counters are exported at 0, one per status, for the same reason as
   * the reload counters. Its series leave with the zone ({@link #retainOnly}).
   */
  public void zoneConfigured(String zone) {
    for (int status = FIRST_ORIGIN_ERROR; status <= LAST_ORIGIN_ERROR; status++) {
      counter("muxgate.origin.errors", "zone", zone, "code", Integer.toString(status));
    }
  }

  public MeterRegistry registry() {
    return registry;
  }

  /**
   * Which of Vert.x's own metrics are exported beside Muxgate's (worker and internal pools remain).
   * Per-request HTTP and per-byte TCP metrics of Vert.x cost more than the proxying itself, and Muxgate
   * keeps its own request and connection metrics instead. The event bus only carries config swaps
   * inside the process, and its gauges were registered twice, with a WARNING at every start.
   */
  public static MicrometerMetricsOptions vertxBuiltins() {
    return new MicrometerMetricsOptions().setEnabled(true)
      .addDisabledMetricsCategory(MetricsDomain.HTTP_SERVER)
      .addDisabledMetricsCategory(MetricsDomain.HTTP_CLIENT)
      .addDisabledMetricsCategory(MetricsDomain.NET_SERVER)
      .addDisabledMetricsCategory(MetricsDomain.NET_CLIENT)
      .addDisabledMetricsCategory(MetricsDomain.EVENT_BUS);
  }

  @Override
  public void completed(ExchangeRecord record) {
    if (registry == null) {
      return;
    }
    ZoneMeters meters = zones.computeIfAbsent(record.zone() == null ? NO_ZONE : record.zone(), ZoneMeters::new);
    meters.requests(record.status()).increment();
    meters.duration.record(record.durationNanos(), TimeUnit.NANOSECONDS);
  }

  /**
   * Exports how many access log lines were dropped because stdout stalled: the log is missing them, and
   * whoever bills or audits from it must be able to see that.
   */
  public void accessLogDrops(AccessLog log) {
    if (registry != null) {
      FunctionCounter.builder("muxgate.access.log.dropped", log, AccessLog::dropped)
        .description(HELP.get("muxgate.access.log.dropped")).register(registry);
    }
  }

  public void originError(String zone, int status) {
    counter("muxgate.origin.errors", "zone", zone, "code", Integer.toString(status)).increment();
  }

  public void replayed(String zone, String reason) {
    counter("muxgate.origin.replays", "zone", zone, "reason", reason).increment();
  }

  public void configReload(boolean applied) {
    counter("muxgate.config.reloads", "result", applied ? "applied" : "rejected").increment();
  }

  @Override
  public void connectionOpened(OriginPeer peer, String protocol) {
    gauge("muxgate.origin.connections", peer, protocol).incrementAndGet();
    counter("muxgate.origin.connections.opened", "zone", peer.zone(), "origin", peer.address().toString(),
      "protocol", protocol).increment();
  }

  @Override
  public void connectionClosed(OriginPeer peer, String protocol) {
    // Never creates the series: a connection of a retired origin that closes late must not bring it back.
    GaugeSeries open = gauges.get(gaugeKey("muxgate.origin.connections", peer, protocol));
    if (open != null) {
      open.value().decrementAndGet();
    }
  }

  @Override
  public AtomicInteger openConnections(OriginPeer peer, String protocol) {
    return gauge("muxgate.origin.connections", peer, protocol);
  }

  @Override
  public void originEjected(OriginPeer peer) {
    counter("muxgate.origin.ejections", "zone", peer.zone(), "origin", peer.address().toString()).increment();
  }

  @Override
  public void connectionAbandoned(OriginPeer peer) {
    counter("muxgate.origin.connections.abandoned", "zone", peer.zone(), "origin", peer.address().toString())
      .increment();
  }

  @Override
  public AtomicInteger activeStreams(OriginPeer peer) {
    return gauge("muxgate.origin.streams.active", peer, null);
  }

  @Override
  public AtomicInteger queuedRequests(OriginPeer peer) {
    return gauge("muxgate.origin.requests.queued", peer, null);
  }

  private AtomicInteger gauge(String name, OriginPeer peer, String protocol) {
    String key = gaugeKey(name, peer, protocol);
    GaugeSeries series = gauges.get(key);
    if (series != null) {
      return series.value();
    }
    return gauges.computeIfAbsent(key, k -> {
      AtomicInteger v = new AtomicInteger();
      if (registry == null) {
        return new GaugeSeries(v, null);
      }
      Gauge.Builder<AtomicInteger> b = Gauge.builder(name, v, AtomicInteger::get).description(HELP.get(name))
        .tag("zone", peer.zone()).tag("origin", peer.address().toString());
      if (protocol != null) {
        b.tag("protocol", protocol);
      }
      return new GaugeSeries(v, b.register(registry));
    }).value();
  }

  private static String gaugeKey(String name, OriginPeer peer, String protocol) {
    return name + '|' + peer.zone() + '|' + peer.address() + '|' + protocol;
  }

  /**
   * Drops the series of zones not in {@code liveZones} and of origins not in {@code livePeers}, so that
   * /metrics shows configured zones only. Called once the pools of what left are closed (nothing counts
   * for them any more); a zone that comes back starts its counters at 0, as a new Prometheus series does.
   */
  public void retainOnly(Set<String> liveZones, Set<OriginPeer> livePeers) {
    if (registry == null) {
      return;
    }
    Set<String> liveOrigins = new HashSet<>();
    for (OriginPeer peer : livePeers) {
      liveOrigins.add(peer.zone() + '|' + peer.address());
    }
    zones.values().removeIf(meters -> {
      if (!dropped(meters.duration, liveZones, liveOrigins)) {
        return false;
      }
      meters.byStatus.values().forEach(registry::remove);
      return true;
    });
    counters.values().removeIf(counter -> dropped(counter, liveZones, liveOrigins));
    gauges.values().removeIf(series -> dropped(series.gauge(), liveZones, liveOrigins));
  }

  /** Removes {@code meter} from the registry if its zone, or its zone's origin, is no longer configured. */
  private boolean dropped(Meter meter, Set<String> liveZones, Set<String> liveOrigins) {
    String zone = meter.getId().getTag("zone");
    String origin = meter.getId().getTag("origin");
    boolean gone = zone != null && !zone.equals(NO_ZONE)
      && (!liveZones.contains(zone) || origin != null && !liveOrigins.contains(zone + '|' + origin));
    if (gone) {
      registry.remove(meter);
    }
    return gone;
  }

  private Counter counter(String name, String... tags) {
    String key = name + '|' + String.join("|", tags);
    Counter c = counters.get(key);
    if (c != null) {
      return c;
    }
    return counters.computeIfAbsent(key, k -> registry == null
      ? NOOP_COUNTER
      : Counter.builder(name).description(HELP.get(name)).tags(tags).register(registry));
  }

  private static final Counter NOOP_COUNTER = new io.micrometer.core.instrument.noop.NoopCounter(
    new io.micrometer.core.instrument.Meter.Id("noop", io.micrometer.core.instrument.Tags.empty(), null, null,
      io.micrometer.core.instrument.Meter.Type.COUNTER));

  /** A gauge's value and, when there is a registry, the meter that exports it. */
  private record GaugeSeries(AtomicInteger value, Gauge gauge) {
  }

  /** One zone's request meters, with a counter per status code created on first use. */
  private final class ZoneMeters {
    private final String zone;
    private final Timer duration;
    private final Map<Integer, Counter> byStatus = new ConcurrentHashMap<>();

    ZoneMeters(String zone) {
      this.zone = zone;
      this.duration = Timer.builder("muxgate.request.duration").description(HELP.get("muxgate.request.duration"))
        .tag("zone", zone)
        .serviceLevelObjectives(BUCKETS)
        .register(registry);
    }

    Counter requests(int status) {
      Counter c = byStatus.get(status);
      if (c != null) {
        return c;
      }
      return byStatus.computeIfAbsent(status, s -> Counter.builder("muxgate.requests")
        .description(HELP.get("muxgate.requests")).tag("zone", zone).tag("code", Integer.toString(s)).register(registry));
    }
  }
}
