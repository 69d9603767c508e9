package io.muxgate.config;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.util.Collection;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Whether a file holds PEM certificates the TLS stack can load: the zone's origin CA and the front end's
 * certificate are checked the same way when their config is read, so a bad file is a config error and not
 * a failure at the first connection or at listen time.
 */
public final class PemCertificates {

  /** A certificate block, or the start of one cut short (which the factory then names as unreadable). */
  private static final Pattern CERTIFICATE =
    Pattern.compile("-----BEGIN CERTIFICATE-----.*?(?:-----END CERTIFICATE-----|\\z)", Pattern.DOTALL);

  private PemCertificates() {
  }

  /** Why {@code pem} (the content of {@code path}) is not a PEM certificate chain, or null if it is one. */
  public static String problem(Path path, byte[] pem) {
    try {
      return read(pem).isEmpty() ? "no PEM certificate in " + path : null;
    } catch (CertificateException e) {
      return "unreadable PEM certificate in " + path + ": " + e.getMessage();
    }
  }

  /** The certificates of {@code pem}, none if it has no PEM certificate block. */
  static Collection<? extends Certificate> read(byte[] pem) throws CertificateException {
    // Vert.x reads PEM only, while the JDK's factory would also accept DER: require the PEM block first.
    // Vert.x also skips the other blocks, such as the private key of a file that holds the whole pair
    // (HAProxy's crt), which the factory would take for a damaged certificate: it gets the certificates.
    Matcher blocks = CERTIFICATE.matcher(new String(pem, StandardCharsets.ISO_8859_1));
    StringBuilder certificates = new StringBuilder();
    while (blocks.find()) {
      certificates.append(blocks.group()).append('\n');
    }
    if (certificates.isEmpty()) {
      return List.of();
    }
    return CertificateFactory.getInstance("X.509").generateCertificates(
      new ByteArrayInputStream(certificates.toString().getBytes(StandardCharsets.ISO_8859_1)));
  }
}
