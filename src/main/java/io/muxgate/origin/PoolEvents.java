package io.muxgate.origin;

/** What a pool reports as it works, for metrics. Called from any event loop; keep it cheap. */
public interface PoolEvents {

  PoolEvents NONE = new PoolEvents() {
  };

  default void connectionOpened(OriginPeer peer, String protocol) {
  }

  default void connectionClosed(OriginPeer peer, String protocol) {
  }

  default void streamsChanged(OriginPeer peer, int delta) {
  }
}
