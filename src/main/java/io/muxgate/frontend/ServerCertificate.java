package io.muxgate.frontend;

import io.muxgate.config.ConfigException;
import io.muxgate.config.PemCertificates;
import io.muxgate.config.ProcessConfig;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.logging.Logger;
import io.vertx.core.internal.logging.LoggerFactory;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.SelfSignedCertificate;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

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

  /**
   * Rejects a configured PEM pair that the front end could not load, as a config error naming the field,
   * the file and the reason. Without it a bad file surfaced twice and unnamed: first as a failed warm-up,
   * then as "failed to start" with the PEM parser's message alone. The certificate is checked as a zone's
   * origin CA is; the pair is then parsed by the same Vert.x code the listener uses, so what passes here
   * loads there.
   */
  public static void check(String configFile, ProcessConfig config) {
    Path cert = config.tlsCertFile();
    Path key = config.tlsKeyFile();
    if (cert == null) {
      return;
    }
    byte[] certPem = read(configFile, "tls.cert_file", cert);
    byte[] keyPem = read(configFile, "tls.key_file", key);
    String problem = PemCertificates.problem(cert, certPem);
    if (problem != null) {
      throw new ConfigException(configFile, "tls.cert_file", problem);
    }
    try {
      new PemKeyCertOptions().addCertValue(Buffer.buffer(certPem)).addKeyValue(Buffer.buffer(keyPem))
        .getKeyManagerFactory(null);   // values, not paths: no Vert.x instance needed
    } catch (Exception e) {
      throw new ConfigException(configFile, "tls.key_file",
        key + " is not a PEM private key for " + cert + ": " + e.getMessage());
    }
  }

  private static byte[] read(String configFile, String field, Path file) {
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new ConfigException(configFile, field, "cannot read " + file + ": " + e.getMessage());
    }
  }
}
