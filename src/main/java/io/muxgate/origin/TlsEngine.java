package io.muxgate.origin;

import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.OpenSSLEngineOptions;
import io.vertx.core.net.SSLEngineOptions;

/**
 * The TLS engine of every TLS connection Muxgate makes or accepts: OpenSSL (BoringSSL from netty-tcnative)
 * with session resumption when it loads, the JDK's engine otherwise. One choice for the front end, the
 * origin clients and the start-up warm-up, which must compile the same engine real traffic runs.
 */
public final class TlsEngine {

  private TlsEngine() {
  }

  public static SSLEngineOptions options() {
    return OpenSSLEngineOptions.isAvailable()
      ? new OpenSSLEngineOptions().setSessionCacheEnabled(true)
      : new JdkSSLEngineOptions();
  }
}
