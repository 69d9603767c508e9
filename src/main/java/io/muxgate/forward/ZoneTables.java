package io.muxgate.forward;

import io.muxgate.config.OriginAddress;
import io.muxgate.config.Route;
import io.muxgate.config.ZoneConfig;
import io.muxgate.origin.OriginPeer;
import io.muxgate.origin.OriginPool;
import io.muxgate.origin.OriginPools;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/** Builds serving snapshots from validated zone configs, reusing pools whose peer did not change. */
public final class ZoneTables {

  private ZoneTables() {
  }

  public static ZoneTable build(long version, List<ZoneConfig> configs, OriginPools pools, ZoneTable previous) {
    List<Zone> zones = new ArrayList<>();
    for (ZoneConfig config : configs) {
      Zone old = previous.byName(config.zone());
      AtomicInteger inFlight = old != null ? old.inFlight() : new AtomicInteger();
      List<Zone.RoutedOrigins> routes = new ArrayList<>();
      for (Route route : config.routes()) {
        routes.add(new Zone.RoutedOrigins(route, origins(config, route.origins(), pools)));
      }
      routes.sort(Comparator.comparingInt((Zone.RoutedOrigins r) -> r.route().prefix().length()).reversed());
      zones.add(new Zone(config, origins(config, config.origins(), pools), List.copyOf(routes), inFlight));
    }
    return new ZoneTable(version, zones, removedInFlight(previous, zones));
  }

  /**
   * The counters of zones {@code previous} serves and {@code zones} does not, with those of zones removed
   * earlier that still count requests. A removed zone's counter is kept whatever it reads now: a loop still
   * on the previous snapshot may admit one more request into it. One left at zero is dropped a reload later.
   */
  private static List<AtomicInteger> removedInFlight(ZoneTable previous, List<Zone> zones) {
    List<AtomicInteger> removed = new ArrayList<>();
    for (AtomicInteger earlier : previous.removedInFlight()) {
      if (earlier.get() > 0) {
        removed.add(earlier);
      }
    }
    Set<AtomicInteger> kept = Collections.newSetFromMap(new IdentityHashMap<>());
    zones.forEach(zone -> kept.add(zone.inFlight()));
    for (Zone zone : previous.zones()) {
      if (!kept.contains(zone.inFlight())) {
        removed.add(zone.inFlight());
      }
    }
    return removed;
  }

  private static OriginSet origins(ZoneConfig config, List<OriginAddress> addresses, OriginPools pools) {
    List<OriginPool> list = new ArrayList<>();
    for (OriginAddress address : addresses) {
      list.add(pools.pool(OriginPeer.of(config, address)));
    }
    return new OriginSet(list);
  }

  /** Every peer a snapshot uses, so that the pools of all others can be retired. */
  public static Set<OriginPeer> peers(ZoneTable table) {
    Set<OriginPeer> peers = new HashSet<>();
    for (Zone zone : table.zones()) {
      zone.allPools().forEach(p -> peers.add(p.peer()));
    }
    return peers;
  }
}
