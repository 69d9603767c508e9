package io.muxgate.frontend;

import io.muxgate.config.ProcessConfig;
import io.vertx.core.internal.logging.Logger;
import io.vertx.core.internal.logging.LoggerFactory;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.SelfSignedCertificate;

/** The certificate of the TLS front end: the configured PEM pair, or a self-signed one made at start. */
public final class ServerCertificate {

  private static final Logger log = LoggerFactory.getLogger(ServerCertificate.class);

  private ServerCertificate() {
  }

  public static KeyCertOptions load(ProcessConfig config) {
    if (config.tlsCertFile() != null) {
      return new PemKeyCertOptions()
        .setCertPath(config.tlsCertFile().toString())
        .setKeyPath(config.tlsKeyFile().toString());
    }
    log.warn("tls.cert_file and tls.key_file are not set: serving https_port with a self-signed certificate");
    return SelfSignedCertificate.create("localhost").keyCertOptions();
  }
}
