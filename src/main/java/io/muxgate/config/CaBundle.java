package io.muxgate.config;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;

/**
 * A zone's {@code origin_ca_file} as it was read and validated: the connections to its origins trust
 * exactly this text, whatever the file holds later. A zone whose file now holds other text is read
 * again (see {@link ZoneCatalog}), so a bundle rotated in place takes effect like an edit of the zone.
 */
public record CaBundle(Path path, String pem) {

  public byte[] bytes() {
    return pem.getBytes(StandardCharsets.ISO_8859_1);
  }

  /** Whether one of its certificates has an EdDSA key (Ed25519, Ed448): see {@code TlsEngine.forOrigins}. */
  public boolean hasEdDsaKey() {
    try {
      for (Certificate certificate : PemCertificates.read(bytes())) {
        String algorithm = certificate.getPublicKey().getAlgorithm();
        if (algorithm.equals("EdDSA") || algorithm.equals("Ed25519") || algorithm.equals("Ed448")) {
          return true;
        }
      }
      return false;
    } catch (CertificateException e) {
      return false; // validated when the zone was read; the TLS stack will say what is wrong
    }
  }

  /** The path only: the certificates are not for logs. */
  @Override
  public String toString() {
    return path.toString();
  }
}
