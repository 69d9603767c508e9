package io.muxgate.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads the zone files of a tenants folder, scan after scan. Kubernetes ConfigMap mounts show each key as
 * a symlink {@code zone.json -> ..data/zone.json}; reading through the link always sees one whole
 * generation, because the kubelet swaps {@code ..data} atomically. Entries starting with '.' are never
 * zone files.
 *
 * <p>A file is read again only when its attributes (size, modification time, inode, and where the file
 * system has one the status change time) changed since the last read, or when that read came less than
 * {@link #SETTLED_MILLIS} after its modification: a second write of the same size within the file
 * system's timestamp granularity leaves the attributes as they were, and is caught by the read that
 * follows it. The status change time is what catches an edit whose modification time was then set back
 * to what it was ({@code touch -d}, {@code cp -p}, {@code rsync -t --inplace}): no tool can set it.
 * With thousands of zones, reading every file every second cost about 45 µs of CPU per file per scan,
 * and a stat a fraction of that.
 */
public final class ZoneFiles {

  /** How long after its last modification a file's content may be trusted to match its attributes. */
  static final long SETTLED_MILLIS = 2_000;

  /** What a stat tells of a file; {@code changed} (ctime) is null where the file system has none. */
  private record Attributes(boolean regularFile, Object fileKey, long size, FileTime modified, FileTime changed) {
  }

  private record Read(Attributes attributes, long readAtMillis, String text) {

    boolean stillValid(Attributes now) {
      return now.equals(attributes) && attributes.modified().toMillis() < readAtMillis - SETTLED_MILLIS;
    }
  }

  private static final String UNIX_ATTRIBUTES = "unix:isRegularFile,fileKey,size,lastModifiedTime,ctime";
  private static volatile boolean unixView = true;

  private final Path dir;
  private final Map<String, Read> reads = new HashMap<>();
  private long filesRead;

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
    for (Path entry : entries) {
      String name = entry.getFileName().toString();
      Attributes attributes = name.startsWith(".") ? null : attributes(entry);
      if (attributes == null || !attributes.regularFile()) {
        continue;
      }
      Read last = reads.get(name);
      if (last != null && last.stillValid(attributes)) {
        files.put(name, last.text());
        continue;
      }
      long readAt = System.currentTimeMillis();
      try {
        filesRead++;
        String text = Files.readString(entry, StandardCharsets.UTF_8);
        reads.put(name, new Read(attributes, readAt, text));
        files.put(name, text);
      } catch (IOException e) {
        reads.remove(name);
        files.put(name, null);
      }
    }
    reads.keySet().retainAll(files.keySet());
    return files;
  }

  /** How many times a file's content was read, for tests. */
  long filesRead() {
    return filesRead;
  }

  /** The attributes of the file a name leads to (through links), or null if there is none to read. */
  private static Attributes attributes(Path entry) {
    try {
      if (unixView) {
        try {
          Map<String, Object> a = Files.readAttributes(entry, UNIX_ATTRIBUTES);
          return new Attributes((Boolean) a.get("isRegularFile"), a.get("fileKey"), (Long) a.get("size"),
            (FileTime) a.get("lastModifiedTime"), (FileTime) a.get("ctime"));
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
          unixView = false;
        }
      }
      BasicFileAttributes a = Files.readAttributes(entry, BasicFileAttributes.class);
      return new Attributes(a.isRegularFile(), a.fileKey(), a.size(), a.lastModifiedTime(), null);
    } catch (IOException e) {
      return null;
    }
  }
}
