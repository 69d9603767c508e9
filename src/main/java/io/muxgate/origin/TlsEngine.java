package io.muxgate.origin;

import io.muxgate.config.CaBundle;
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

  /**
   * For connections to a zone's origins. BoringSSL, as netty-tcnative builds and drives it, offers no
   * Ed25519 or Ed448 signatures (nothing in netty-tcnative sets the algorithms its client verifies), so an
   * origin whose certificate has such a key ends the handshake with handshake_failure: a 525. A zone whose
   * {@code origin_ca_file} holds an EdDSA certificate, which its origins' certificates are then likely to
   * have too, gets the JDK's engine, which offers them, at the JDK's CPU cost per byte on those
   * connections only.
   */
  static SSLEngineOptions forOrigins(CaBundle ca) {
    return ca != null && ca.hasEdDsaKey() ? new JdkSSLEngineOptions() : options();
  }

  public static SSLEngineOptions options() {
    return OpenSSLEngineOptions.isAvailable()
      ? new OpenSSLEngineOptions().setSessionCacheEnabled(true)
      : new JdkSSLEngineOptions();
  }
}
