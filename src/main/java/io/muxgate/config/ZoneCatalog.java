package io.muxgate.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The zones currently accepted, one per file, and the rules between files: a file that fails validation
 * keeps its last good zone; a zone id or host claimed by two files is refused to the file that changed.
 * Not thread-safe: the config verticle owns it.
 */
public final class ZoneCatalog {

  /** One scan's outcome: the errors found (once per new content) and whether the zone set changed. */
  public record ScanResult(List<ConfigException> rejected, boolean changed) {
  }

  private final Path dir;
  private final List<ZoneConfig> builtIn;
  private final Map<String, String> seenContent = new HashMap<>();
  private final Map<String, ZoneConfig> accepted = new TreeMap<>();

  public ZoneCatalog(Path dir, List<ZoneConfig> builtIn) {
    this.dir = dir;
    this.builtIn = List.copyOf(builtIn);
  }

  public Path dir() {
    return dir;
  }

  /** Applies the folder's current content. {@code files} maps file name to text (null: unreadable). */
  public ScanResult apply(Map<String, String> files) {
    List<ConfigException> rejected = new ArrayList<>();
    boolean changed = accepted.keySet().retainAll(files.keySet());
    seenContent.keySet().retainAll(files.keySet());
    Map<String, ZoneConfig> candidates = new LinkedHashMap<>();
    for (Map.Entry<String, String> file : files.entrySet()) {
      String name = file.getKey();
      String text = file.getValue();
      if (Objects.equals(seenContent.get(name), text) && text != null) {
        continue;
      }
      seenContent.put(name, text);
      Path path = dir.resolve(name);
      if (text == null) {
        rejected.add(new ConfigException(displayName(path), null, "cannot read file"));
        continue;
      }
      try {
        candidates.put(name, ZoneFileParser.parse(path, displayName(path), text));
      } catch (ConfigException e) {
        rejected.add(e);
      }
    }
    for (Map.Entry<String, ZoneConfig> candidate : candidates.entrySet()) {
      ConfigException conflict = conflict(candidate.getKey(), candidate.getValue());
      if (conflict != null) {
        rejected.add(conflict);
        continue;
      }
      ZoneConfig previous = accepted.put(candidate.getKey(), candidate.getValue());
      changed |= !candidate.getValue().equals(previous);
    }
    return new ScanResult(rejected, changed);
  }

  /** Checks a zone against every other accepted zone; null when it fits. */
  public ConfigException conflict(String fileName, ZoneConfig zone) {
    String file = displayName(dir.resolve(fileName));
    List<ZoneConfig> others = new ArrayList<>(builtIn);
    accepted.forEach((name, z) -> {
      if (!name.equals(fileName)) {
        others.add(z);
      }
    });
    for (ZoneConfig other : others) {
      if (other.zone().equals(zone.zone())) {
        return new ConfigException(file, "zone", "zone \"" + zone.zone() + "\" is already defined"
          + (other.source() != null ? " in " + displayName(other.source()) : ""));
      }
      for (int i = 0; i < zone.hosts().size(); i++) {
        if (other.hosts().contains(zone.hosts().get(i))) {
          return new ConfigException(file, "hosts[" + i + "]", "host \"" + zone.hosts().get(i)
            + "\" already belongs to zone \"" + other.zone() + "\"");
        }
      }
    }
    return null;
  }

  public List<ZoneConfig> zones() {
    List<ZoneConfig> all = new ArrayList<>(builtIn);
    all.addAll(accepted.values());
    return all;
  }

  /** The file an accepted zone came from, or null for built-in zones and unknown names. */
  public Path fileOf(String zone) {
    for (ZoneConfig z : accepted.values()) {
      if (z.zone().equals(zone)) {
        return z.source();
      }
    }
    return null;
  }

  /** How a path is named in messages: relative to the folder above the tenants folder when possible. */
  public String displayName(Path path) {
    Path base = dir.getParent();
    if (base != null && path.startsWith(base)) {
      return base.relativize(path).toString();
    }
    return path.toString();
  }
}
