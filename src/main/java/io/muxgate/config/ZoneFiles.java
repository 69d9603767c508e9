package io.muxgate.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads the zone files of a tenants folder. Kubernetes ConfigMap mounts show each key as a symlink
 * {@code zone.json -> ..data/zone.json}; reading through the link always sees one whole generation,
 * because the kubelet swaps {@code ..data} atomically. Entries starting with '.' are never zone files.
 */
public final class ZoneFiles {

  private ZoneFiles() {
  }

  /** File name → content for every {@code *.json} in {@code dir}; unreadable files map to null. */
  public static Map<String, String> read(Path dir) throws IOException {
    Map<String, String> files = new TreeMap<>();
    if (!Files.isDirectory(dir)) {
      throw new IOException("tenants_dir " + dir + " is not a folder");
    }
    List<Path> entries = new ArrayList<>();
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir, "*.json")) {
      stream.forEach(entries::add);
    }
    for (Path entry : entries) {
      String name = entry.getFileName().toString();
      if (name.startsWith(".") || !Files.isRegularFile(entry)) {
        continue;
      }
      try {
        files.put(name, Files.readString(entry, StandardCharsets.UTF_8));
      } catch (IOException e) {
        files.put(name, null);
      }
    }
    return files;
  }
}
