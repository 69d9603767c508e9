package io.muxgate.forward;

import io.muxgate.config.Route;
import io.muxgate.config.ZoneConfig;
import io.muxgate.origin.OriginPool;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A zone ready to serve: its config, the pools of its origins, and its routes ordered longest prefix
 * first. Immutable apart from the in-flight counter, which is carried over from the previous snapshot
 * of the same zone so a reload does not reset admission control.
 */
public record Zone(ZoneConfig config, OriginSet origins, List<RoutedOrigins> routes, AtomicInteger inFlight) {

  /** A route's prefix with the pools of its origins. */
  public record RoutedOrigins(Route route, OriginSet origins) {
  }

  public String name() {
    return config.zone();
  }

  /** The origins for a request path: the longest matching route prefix, else the zone's origins. */
  public Selection select(String path) {
    for (RoutedOrigins r : routes) {
      if (path.startsWith(r.route().prefix())) {
        return new Selection(r.origins(), r.route());
      }
    }
    return new Selection(origins, null);
  }

  /** Origins picked for one request, with the route that picked them (null for the zone default). */
  public record Selection(OriginSet origins, Route route) {
  }

  public List<OriginPool> allPools() {
    List<OriginPool> all = new java.util.ArrayList<>(origins.pools());
    routes.forEach(r -> all.addAll(r.origins().pools()));
    return all;
  }
}
