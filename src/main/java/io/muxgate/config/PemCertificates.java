package io.muxgate.config;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;

/**
 * Whether a file holds PEM certificates the TLS stack can load: the zone's origin CA and the front end's
 * certificate are checked the same way when their config is read, so a bad file is a config error and not
 * a failure at the first connection or at listen time.
 */
public final class PemCertificates {

  private static final String BEGIN = "-----BEGIN CERTIFICATE-----";

  private PemCertificates() {
  }

  /** Why {@code pem} (the content of {@code path}) is not a PEM certificate chain, or null if it is one. */
  public static String problem(Path path, byte[] pem) {
    // Vert.x reads PEM only, while the JDK's factory would also accept DER: require the PEM block first
    if (!new String(pem, StandardCharsets.ISO_8859_1).contains(BEGIN)) {
      return "no PEM certificate in " + path;
    }
    try {
      CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem));
      return null;
    } catch (CertificateException e) {
      return "unreadable PEM certificate in " + path + ": " + e.getMessage();
    }
  }
}
