package io.muxgate.origin;

import io.muxgate.config.OriginAddress;
import io.muxgate.config.ZoneConfig;
import io.muxgate.config.ZoneSettings;

import java.nio.file.Path;

/**
 * Everything that decides how connections to one origin of one zone are made and shared. Two zones
 * pointing at the same address are two peers, and a change to any of these values makes a new peer,
 * hence a new pool: a live Vert.x client's limits cannot be changed in place.
 */
public record OriginPeer(
  String zone,
  OriginAddress address,
  String sni,
  boolean tlsVerify,
  Path caFile,
  boolean h2Allowed,
  int maxStreams,
  int maxConnections,
  int connectTimeoutSeconds,
  int idleTimeoutSeconds) {

  public static OriginPeer of(ZoneConfig zone, OriginAddress address) {
    ZoneSettings s = zone.settings();
    return new OriginPeer(zone.zone(), address, zone.originSni(), zone.originTlsVerify(), zone.originCaFile(),
      s.h2Allowed(), s.originH2MaxStreams(), s.originMaxConnections(), s.proxyConnectTimeoutSeconds(),
      s.originIdleTimeoutSeconds());
  }

  /** The name sent as SNI and checked against the certificate. */
  public String serverName() {
    return sni != null ? sni : address.host();
  }

  /** Capacity a connection is assumed to have before it is open: h2 origins usually multiplex. */
  int expectedCapacity() {
    return h2Allowed && address.scheme() != OriginAddress.Scheme.HTTP ? maxStreams : 1;
  }
}
