package io.muxgate.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Scan after scan, a zone file is read again when it changed, and only then; a rewrite that leaves its
 * size and timestamp as they were is still seen when it comes soon after the last read, or later by its
 * status change time.
 */
class ZoneFilesTest {

  @TempDir
  Path dir;

  @Test
  void aSameSizeRewriteRightAfterAReadIsSeen() throws IOException {
    Path file = dir.resolve("a.json");
    Files.writeString(file, "{\"v\": 1}");
    ZoneFiles files = new ZoneFiles(dir);
    assertEquals(Map.of("a.json", "{\"v\": 1}"), files.read());

    FileTime modified = Files.getLastModifiedTime(file);
    Files.writeString(file, "{\"v\": 2}");
    Files.setLastModifiedTime(file, modified); // as if within one tick of the file system's clock

    assertEquals(Map.of("a.json", "{\"v\": 2}"), files.read());
  }

  @Test
  void aSettledFileIsNotReadAgainUntilItsAttributesChange() throws IOException {
    Path file = dir.resolve("a.json");
    Files.writeString(file, "{\"v\": 1}");
    FileTime anHourAgo = FileTime.from(Instant.now().minusSeconds(3600));
    Files.setLastModifiedTime(file, anHourAgo);
    ZoneFiles files = new ZoneFiles(dir);
    assertEquals(Map.of("a.json", "{\"v\": 1}"), files.read());

    // Attributes as they were: the content read before stands, unread (what makes a scan of a settled folder cheap).
    assertEquals(Map.of("a.json", "{\"v\": 1}"), files.read());
    assertEquals(1, files.filesRead());

    // Rewritten in place with the same size, its modification time then set back (touch -d, cp -p): only
    // the status change time tells, and it is enough.
    Files.writeString(file, "{\"v\": 2}");
    Files.setLastModifiedTime(file, anHourAgo);
    assertEquals(Map.of("a.json", "{\"v\": 2}"), files.read(), "a rewrite with its old modification time");

    Files.writeString(file, "{\"v\": 30}");
    assertEquals(Map.of("a.json", "{\"v\": 30}"), files.read(), "a new size");
    Path replaced = Files.writeString(dir.resolve(".a.json.tmp"), "{\"v\": 31}");
    Files.setLastModifiedTime(replaced, anHourAgo);
    Files.move(replaced, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    assertEquals(Map.of("a.json", "{\"v\": 31}"), files.read(), "another file in its place, as a ConfigMap swap");
  }

  @Test
  void removedFilesAreForgottenAndUnreadableOnesMapToNull() throws IOException {
    Files.writeString(dir.resolve("a.json"), "{}");
    Files.createDirectory(dir.resolve("folder.json"));
    Files.createSymbolicLink(dir.resolve("dangling.json"), dir.resolve("nowhere"));
    ZoneFiles files = new ZoneFiles(dir);
    assertEquals(Map.of("a.json", "{}"), files.read());

    Files.delete(dir.resolve("a.json"));
    assertEquals(Map.of(), files.read());
  }
}
