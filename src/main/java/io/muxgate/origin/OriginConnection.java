package io.muxgate.origin;

import io.vertx.core.http.HttpClientConnection;

/**
 * One connection to an origin with the bookkeeping the pool needs. Every field is guarded by the
 * owning {@link OriginPool}'s lock.
 */
final class OriginConnection {

  final HttpClientConnection connection;
  final String protocol;
  final int localPort;
  int capacity;
  int active;
  boolean draining;
  boolean closed;
  long idleSinceNanos;

  OriginConnection(HttpClientConnection connection, String protocol, int capacity) {
    this.connection = connection;
    this.protocol = protocol;
    this.capacity = capacity;
    this.localPort = connection.localAddress() != null ? connection.localAddress().port() : -1;
    this.idleSinceNanos = System.nanoTime();
  }

  boolean hasRoom() {
    return !draining && !closed && active < capacity;
  }
}
