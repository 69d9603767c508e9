package io.muxgate.support;

import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpVersion;

import java.util.function.Function;

/** The four ways a client can speak to the front end, for tests parameterized over all of them. */
public enum ClientKind {
  HTTP1("HTTP/1.1", HttpVersion.HTTP_1_1, ProxyHarness::h1Client),
  H2_TLS("h2 over TLS", HttpVersion.HTTP_2, ProxyHarness::h2TlsClient),
  H2C("h2c prior knowledge", HttpVersion.HTTP_2, ProxyHarness::h2cClient),
  H2C_UPGRADE("h2c Upgrade", HttpVersion.HTTP_2, ProxyHarness::h2cUpgradeClient);

  private final String label;
  private final HttpVersion version;
  private final Function<ProxyHarness, HttpClientAgent> factory;

  ClientKind(String label, HttpVersion version, Function<ProxyHarness, HttpClientAgent> factory) {
    this.label = label;
    this.version = version;
    this.factory = factory;
  }

  /** A new client of this kind to the proxy's matching port. */
  public HttpClientAgent client(ProxyHarness proxy) {
    return factory.apply(proxy);
  }

  /** The protocol the proxy sees this client speak once connected. */
  public HttpVersion version() {
    return version;
  }

  /** The {@code via} entry the proxy adds for this client. */
  public String via() {
    return version == HttpVersion.HTTP_2 ? "2 muxgate" : "1.1 muxgate";
  }

  /** The {@code via} entry of a new client's first request: an h2c Upgrade's is sent in HTTP/1.1. */
  public String firstVia() {
    return this == H2C_UPGRADE ? "1.1 muxgate" : via();
  }

  public boolean tls() {
    return this == H2_TLS;
  }

  @Override
  public String toString() {
    return label;
  }
}
