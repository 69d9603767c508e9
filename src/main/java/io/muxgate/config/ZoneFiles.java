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
 * Reads the zone files of a tenants folder, scan after scan, each only when it may have changed
 * ({@link FileReads}). Kubernetes ConfigMap mounts show each key as a symlink
 * {@code zone.json -> ..data/zone.json}; reading through the link always sees one whole generation,
 * because the kubelet swaps {@code ..data} atomically. Entries starting with '.' are never zone files.
 */
public final class ZoneFiles {

  private final Path dir;
  private final FileReads reads = new FileReads(StandardCharsets.UTF_8);

  /** Files of {@code dir}, remembered between calls of {@link #read()}; not thread-safe. */
  public ZoneFiles(Path dir) {
    this.dir = dir;
  }

  /** File name → content for every {@code *.json} in {@code dir}, read once. */
  public static Map<String, String> read(Path dir) throws IOException {
    return new ZoneFiles(dir).read();
  }

  /** File name → content for every {@code *.json} in the folder; unreadable files map to null. */
  public Map<String, String> read() throws IOException {
    Map<String, String> files = new TreeMap<>();
    if (!Files.isDirectory(dir)) {
      throw new IOException("tenants_dir " + dir + " is not a folder");
    }
    List<Path> entries = new ArrayList<>();
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir, "*.json")) {
      stream.forEach(entries::add);
    }
    List<Path> zoneFiles = new ArrayList<>(entries.size());
    for (Path entry : entries) {
      String name = entry.getFileName().toString();
      FileReads.Attributes attributes = name.startsWith(".") ? null : FileReads.attributes(entry);
      if (attributes != null && attributes.regularFile()) {
        files.put(name, reads.read(entry, attributes));
        zoneFiles.add(entry);
      }
    }
    reads.retain(zoneFiles);
    return files;
  }

  /** How many times a file's content was read, for tests. */
  long filesRead() {
    return reads.filesRead();
  }
}
