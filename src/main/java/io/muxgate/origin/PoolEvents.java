package io.muxgate.origin;

import java.util.concurrent.atomic.AtomicInteger;

/** What a pool reports as it works, for metrics. Called from any event loop; keep it cheap. */
public interface PoolEvents {

  PoolEvents NONE = new PoolEvents() {
  };

  default void connectionOpened(OriginPeer peer, String protocol) {
  }

  default void connectionClosed(OriginPeer peer, String protocol) {
  }

  /**
   * The count of {@code peer}'s connections open now with {@code protocol}, for a connection no pool holds (a
   * WebSocket tunnel's), which may outlive its peer's series: its close is taken off the count it was added to.
   */
  default AtomicInteger openConnections(OriginPeer peer, String protocol) {
    return new AtomicInteger();
  }

  /** {@code peer} was taken out of balancing by passive health (an ejection, or a longer one). */
  default void originEjected(OriginPeer peer) {
  }

  /** A socket to {@code peer} closed because its connection was not ready within the setup deadline. */
  default void connectionAbandoned(OriginPeer peer) {
  }

  /**
   * The count of streams in use on {@code peer}'s connections. A pool asks once and updates it twice
   * per request, so a per-request lookup (hashing the whole peer) stays off the request path.
   */
  default AtomicInteger activeStreams(OriginPeer peer) {
    return new AtomicInteger();
  }

  /** The count of requests waiting for a stream to {@code peer} (every connection full); asked once per pool. */
  default AtomicInteger queuedRequests(OriginPeer peer) {
    return new AtomicInteger();
  }
}
