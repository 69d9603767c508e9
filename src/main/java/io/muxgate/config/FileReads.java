package io.muxgate.config;

import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;

/**
 * Files read scan after scan (zone files, the CA bundles they name), each read again only when its
 * attributes (size, modification time, inode, and where the file system has one the status change time)
 * changed since the last read, or when that read came less than {@link #SETTLED_MILLIS} after its
 * modification: a second write of the same size within the file system's timestamp granularity leaves the
 * attributes as they were, and is caught by the read that follows it. The status change time is what
 * catches an edit whose modification time was then set back to what it was ({@code touch -d},
 * {@code cp -p}, {@code rsync -t --inplace}): no tool can set it. With thousands of zones, reading every
 * file every second cost about 45 µs of CPU per file per scan, and a stat a fraction of that. Not
 * thread-safe.
 */
final class FileReads {

  /** How long after its last modification a file's content may be trusted to match its attributes. */
  static final long SETTLED_MILLIS = 2_000;
  private static final String UNIX_ATTRIBUTES = "unix:isRegularFile,fileKey,size,lastModifiedTime,ctime";
  private static volatile boolean unixView = true;

  /** What a stat tells of a file; {@code changed} (ctime) is null where the file system has none. */
  record Attributes(boolean regularFile, Object fileKey, long size, FileTime modified, FileTime changed) {
  }

  private record Read(Attributes attributes, long readAtMillis, String text) {

    boolean stillValid(Attributes now) {
      return now.equals(attributes) && attributes.modified().toMillis() < readAtMillis - SETTLED_MILLIS;
    }
  }

  private final Charset charset;
  private final Map<Path, Read> reads = new HashMap<>();
  private long filesRead;

  /** Files decoded with {@code charset}. */
  FileReads(Charset charset) {
    this.charset = charset;
  }

  /** The text of the regular file {@code path} leads to (through links), or null if there is none to read. */
  String read(Path path) {
    Attributes attributes = attributes(path);
    return attributes == null || !attributes.regularFile() ? null : read(path, attributes);
  }

  /** The text of {@code path}, whose attributes were just read, or null if it cannot be read. */
  String read(Path path, Attributes attributes) {
    Read last = reads.get(path);
    if (last != null && last.stillValid(attributes)) {
      return last.text();
    }
    long readAt = System.currentTimeMillis();
    try {
      filesRead++;
      String text = Files.readString(path, charset);
      reads.put(path, new Read(attributes, readAt, text));
      return text;
    } catch (IOException e) {
      reads.remove(path);
      return null;
    }
  }

  /** Forgets every file but {@code paths}. */
  void retain(Collection<Path> paths) {
    reads.keySet().retainAll(paths);
  }

  /** How many times a file's content was read, for tests. */
  long filesRead() {
    return filesRead;
  }

  /** The attributes of the file {@code path} leads to (through links), or null if there is none to read. */
  static Attributes attributes(Path path) {
    try {
      if (unixView) {
        try {
          Map<String, Object> a = Files.readAttributes(path, UNIX_ATTRIBUTES);
          return new Attributes((Boolean) a.get("isRegularFile"), a.get("fileKey"), (Long) a.get("size"),
            (FileTime) a.get("lastModifiedTime"), (FileTime) a.get("ctime"));
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
          unixView = false;
        }
      }
      BasicFileAttributes a = Files.readAttributes(path, BasicFileAttributes.class);
      return new Attributes(a.isRegularFile(), a.fileKey(), a.size(), a.lastModifiedTime(), null);
    } catch (IOException e) {
      return null;
    }
  }
}
