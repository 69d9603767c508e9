package io.muxgate.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One zone as its file declares it, validated. {@code originCa} is the CA file, resolved against the zone
 * file's folder, with the text it held when the zone was read. {@code source} is the file it came from,
 * or null for zones made in code (the demo).
 */
public record ZoneConfig(
  String zone,
  List<String> hosts,
  List<OriginAddress> origins,
  List<Route> routes,
  String originSni,
  boolean originTlsVerify,
  CaBundle originCa,
  ZoneSettings settings,
  Path source) {

  public ZoneConfig {
    hosts = List.copyOf(hosts);
    origins = List.copyOf(origins);
    routes = List.copyOf(routes);
  }

  /**
   * A zone made in code for in-process origins on loopback with a self-signed certificate: default
   * settings, no routes, certificate not verified.
   */
  public static ZoneConfig loopback(String zone, List<String> hosts, int... httpsPorts) {
    List<OriginAddress> origins = new ArrayList<>();
    for (int port : httpsPorts) {
      origins.add(new OriginAddress(OriginAddress.Scheme.HTTPS, "127.0.0.1", port));
    }
    return new ZoneConfig(zone, hosts, origins, List.of(), null, false, null, ZoneSettings.DEFAULTS, null);
  }

  public ZoneConfig withSource(Path file) {
    return new ZoneConfig(zone, hosts, origins, routes, originSni, originTlsVerify, originCa, settings, file);
  }

  public ZoneConfig withSettings(ZoneSettings newSettings) {
    return new ZoneConfig(zone, hosts, origins, routes, originSni, originTlsVerify, originCa, newSettings, source);
  }
}
