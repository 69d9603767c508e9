package io.muxgate.forward;

import io.muxgate.config.Ipv6Host;

import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An immutable snapshot of every zone, indexed by host. Exact hosts win over wildcards; a wildcard
 * {@code *.x} matches any name below x (not x itself), the most specific wildcard first.
 */
public final class ZoneTable {

  public static final ZoneTable EMPTY = new ZoneTable(0, List.of(), List.of());

  private final long version;
  private final List<Zone> zones;
  /**
   * The in-flight counters of zones that earlier snapshots had and this one has not, while they may still
   * count requests admitted before the zone went: a stop's count of requests in flight includes them.
   */
  private final List<AtomicInteger> removedInFlight;
  private final Map<String, Zone> exact = new HashMap<>();
  private final Map<String, Zone> wildcard = new HashMap<>();

  public ZoneTable(long version, List<Zone> zones, List<AtomicInteger> removedInFlight) {
    this.version = version;
    this.zones = List.copyOf(zones);
    this.removedInFlight = List.copyOf(removedInFlight);
    for (Zone zone : zones) {
      for (String host : zone.config().hosts()) {
        if (host.startsWith("*.")) {
          wildcard.put(host.substring(1), zone);
        } else {
          exact.put(host, zone);
        }
      }
    }
  }

  public long version() {
    return version;
  }

  public List<Zone> zones() {
    return zones;
  }

  public List<AtomicInteger> removedInFlight() {
    return removedInFlight;
  }

  public Zone byName(String name) {
    for (Zone z : zones) {
      if (z.name().equals(name)) {
        return z;
      }
    }
    return null;
  }

  /** The zone serving a Host header or :authority value (any port is ignored), or null. */
  public Zone lookup(String authority) {
    if (authority == null || authority.isEmpty()) {
      return null;
    }
    String host = normalize(authority);
    Zone zone = exact.get(host);
    if (zone == null && host.indexOf(':') >= 0) {
      // An IPv6 address written otherwise than the zone's hosts hold it ([0:0::1] for ::1); never a wildcard's.
      String address = Ipv6Host.canonical(host);
      return address == null ? null : exact.get(address);
    }
    if (zone != null || wildcard.isEmpty()) {
      return zone;
    }
    for (int dot = host.indexOf('.'); dot >= 0; dot = host.indexOf('.', dot + 1)) {
      zone = wildcard.get(host.substring(dot));
      if (zone != null) {
        return zone;
      }
    }
    return null;
  }

  static String normalize(String authority) {
    String host = authority;
    if (host.startsWith("[")) {
      int end = host.indexOf(']');
      host = end > 0 ? host.substring(1, end) : host;
    } else {
      int colon = host.indexOf(':');
      if (colon >= 0 && colon == host.lastIndexOf(':')) {
        host = host.substring(0, colon);
      }
    }
    if (host.endsWith(".")) {
      host = host.substring(0, host.length() - 1);
    }
    for (int i = 0; i < host.length(); i++) {
      char c = host.charAt(i);
      if (c >= 'A' && c <= 'Z') {
        return host.toLowerCase(Locale.ROOT);
      }
    }
    return host;
  }
}
