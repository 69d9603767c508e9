package io.muxgate.config;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A zone's {@code origin_ca_file} as it was read and validated: the connections to its origins trust
 * exactly this text, whatever the file holds later. A zone whose file now holds other text is read
 * again (see {@link ZoneCatalog}), so a bundle rotated in place takes effect like an edit of the zone.
 */
public record CaBundle(Path path, String pem) {

  public byte[] bytes() {
    return pem.getBytes(StandardCharsets.ISO_8859_1);
  }

  /** The path only: the certificates are not for logs. */
  @Override
  public String toString() {
    return path.toString();
  }
}
