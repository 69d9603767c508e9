package io.muxgate.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A zone's {@code origin_ca_file} as it was read and validated: the connections to its origins trust
 * exactly this text, whatever the file holds later. A zone whose file now holds other text is read
 * again (see {@link ZoneCatalog}), so a bundle rotated in place takes effect like an edit of the zone.
 */
public record CaBundle(Path path, String pem) {

  /** The text {@code path} holds now, byte for byte (ISO-8859-1), or null if it cannot be read. */
  public static String read(Path path) {
    try {
      return new String(Files.readAllBytes(path), StandardCharsets.ISO_8859_1);
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  public byte[] bytes() {
    return pem.getBytes(StandardCharsets.ISO_8859_1);
  }

  /** The path only: the certificates are not for logs. */
  @Override
  public String toString() {
    return path.toString();
  }
}
