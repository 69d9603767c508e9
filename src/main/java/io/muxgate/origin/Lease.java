package io.muxgate.origin;

import io.vertx.core.http.HttpClientConnection;

/**
 * The right to run one stream on one origin connection. {@link #release()} must be called exactly once,
 * when the exchange is over (ended, failed or reset); extra calls are ignored.
 */
public final class Lease {

  private final OriginPool pool;
  private final OriginConnection origin;
  private boolean released;

  Lease(OriginPool pool, OriginConnection origin) {
    this.pool = pool;
    this.origin = origin;
  }

  public HttpClientConnection connection() {
    return origin.connection;
  }

  public String protocol() {
    return origin.protocol;
  }

  public int localPort() {
    return origin.localPort;
  }

  public OriginPool pool() {
    return pool;
  }

  /** Marks the connection as not to be given new streams, e.g. after it failed a stream unprocessed. */
  public void retireConnection() {
    pool.drain(origin);
  }

  public void release() {
    if (!released) {
      released = true;
      pool.release(origin);
    }
  }
}
