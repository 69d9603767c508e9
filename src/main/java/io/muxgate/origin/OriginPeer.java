package io.muxgate.origin;

import io.muxgate.config.CaBundle;
import io.muxgate.config.OriginAddress;
import io.muxgate.config.ZoneConfig;
import io.muxgate.config.ZoneSettings;

import java.util.concurrent.TimeUnit;

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
  CaBundle ca,
  boolean h2Allowed,
  int maxStreams,
  int maxConnections,
  int connectTimeoutSeconds,
  int readTimeoutSeconds,
  int idleTimeoutSeconds) {

  public static OriginPeer of(ZoneConfig zone, OriginAddress address) {
    ZoneSettings s = zone.settings();
    return new OriginPeer(zone.zone(), address, zone.originSni(), zone.originTlsVerify(), zone.originCa(),
      s.h2Allowed(), s.originH2MaxStreams(), s.originMaxConnections(), s.proxyConnectTimeoutSeconds(),
      s.proxyReadTimeoutSeconds(), s.originIdleTimeoutSeconds());
  }

  /**
   * The name sent as SNI and checked against the certificate, without the root dot of a fully qualified
   * name ({@code origin.example.com.}): SNI never carries it (RFC 6066, section 3) and the JDK refuses a
   * name with it, which failed every handshake. Resolution still uses the name as written. Called when a
   * pool is made, not per request.
   */
  public String serverName() {
    String name = sni != null ? sni : address.host();
    return name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
  }

  /**
   * How long an HTTP/2 connection may sit without any stream before it is PINGed: a quarter of the idle
   * timeout, between 1 and 30 s. A connection kept for {@code origin_idle_timeout} is checked a few
   * times in that span, and a dead one is found before the idle timeout would have closed it anyway.
   */
  long pingIntervalNanos() {
    long millis = Math.max(1_000, Math.min(30_000, idleTimeoutSeconds * 1000L / 4));
    return TimeUnit.MILLISECONDS.toNanos(millis);
  }

  /** How long a PING may stay unanswered before the connection is considered dead: at most 10 s. */
  long pingTimeoutNanos() {
    return Math.min(pingIntervalNanos(), TimeUnit.SECONDS.toNanos(10));
  }

  /**
   * Bound on opening a whole connection. TCP connect and TLS handshake each have the connect timeout of
   * their own (522, 525); what follows, the wait for the origin's first SETTINGS frame or its answer to
   * the h2c Upgrade, which Vert.x would otherwise wait for forever, is the origin's to answer, as a
   * response is: the read timeout bounds it, as HAProxy's {@code timeout server} does. Twice the connect
   * timeout at least, which covers both of those. No longer twice the connect timeout alone: a cold burst
   * on a busy event loop read an origin's prompt SETTINGS seconds late, and its 522 failed the whole queue.
   */
  public long setupDeadlineMillis() {
    return TimeUnit.SECONDS.toMillis(Math.max(2L * connectTimeoutSeconds, readTimeoutSeconds));
  }

  /**
   * Capacity a connection is assumed to have before it is open: h2 origins usually multiplex. An
   * {@code http://} one too, until the first answer to its h2c Upgrade tells (an HTTP/1.1 connection then
   * makes it 1): assuming 1 opened a connection per request of a cold burst, each asking for the Upgrade,
   * and an origin that takes it and then ends the connection (Apache) refused requests on one after another.
   * An h2c one is HTTP/2 whatever {@code origin_max_http_version} says, as its client is.
   */
  int expectedCapacity() {
    return h2Allowed || address.scheme() == OriginAddress.Scheme.H2C ? maxStreams : 1;
  }
}
