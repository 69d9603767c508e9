package io.muxgate.config;

import java.nio.file.Path;
import java.util.List;

/**
 * One zone as its file declares it, validated. {@code caFile} is already resolved against the zone
 * file's folder. {@code source} is the file it came from, or null for zones made in code (the demo).
 */
public record ZoneConfig(
  String zone,
  List<String> hosts,
  List<OriginAddress> origins,
  List<Route> routes,
  String originSni,
  boolean originTlsVerify,
  Path originCaFile,
  ZoneSettings settings,
  Path source) {

  public ZoneConfig {
    hosts = List.copyOf(hosts);
    origins = List.copyOf(origins);
    routes = List.copyOf(routes);
  }

  public ZoneConfig withSource(Path file) {
    return new ZoneConfig(zone, hosts, origins, routes, originSni, originTlsVerify, originCaFile, settings, file);
  }

  public ZoneConfig withSettings(ZoneSettings newSettings) {
    return new ZoneConfig(zone, hosts, origins, routes, originSni, originTlsVerify, originCaFile, newSettings, source);
  }
}
