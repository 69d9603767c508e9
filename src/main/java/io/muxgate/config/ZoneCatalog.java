package io.muxgate.config;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * The zones currently accepted, one per file, and the rules between files: a file that fails validation
 * keeps its last good zone; a zone id or host claimed by two files is refused to the file that changed,
 * and accepted on a later scan once the other file lets go of it.
 *
 * <p>Each file's content is judged once: an error is reported when it is first confirmed and never again
 * until the content changes. A file that fails on first sight is confirmed on the next scan only, so an
 * editor caught halfway through writing it in place produces no error at all. Not thread-safe: the
 * config verticle owns it.
 */
public final class ZoneCatalog {

  /**
   * One scan's outcome: the errors newly confirmed, the files accepted after a reported error (shown as
   * in errors, e.g. {@code tenants/shop.json}), and whether the set of accepted zones changed.
   */
  public record ScanResult(List<ConfigException> rejected, List<String> recovered, boolean changed) {
  }

  /** What was decided about a file's current content. */
  private enum Verdict {
    /** Accepted, or identical to what is accepted. */
    ACCEPTED,
    /** Failed once; reported if the next scan sees the same content. */
    UNCONFIRMED,
    /** Failed and reported; silent until the content changes. */
    REPORTED,
    /** Valid on its own but claims a zone or host of another file; retried silently every scan. */
    CONFLICTING
  }

  /**
   * A file's text and what was decided about it, with the CA file it names ({@code caPath}, null if none)
   * and the text that held when it was judged ({@code caText}, null if unreadable).
   */
  private record FileState(String text, Path caPath, String caText, Verdict verdict, ZoneConfig parsed,
                           ConfigException error) {

    FileState judged(Verdict newVerdict, ZoneConfig newParsed, ConfigException newError) {
      return new FileState(text, caPath, caText, newVerdict, newParsed, newError);
    }
  }

  private final Path dir;
  /** The CA files zones name, read byte for byte, and again only when they may have changed. */
  private final FileReads caFiles = new FileReads(StandardCharsets.ISO_8859_1);
  private final List<ZoneConfig> builtIn;
  private final Map<String, FileState> files = new HashMap<>();
  private final Map<String, ZoneConfig> accepted = new TreeMap<>();
  /** Files whose last reported verdict was an error: their next acceptance is reported too. */
  private final Set<String> inError = new HashSet<>();

  public ZoneCatalog(Path dir, List<ZoneConfig> builtIn) {
    this.dir = dir;
    this.builtIn = List.copyOf(builtIn);
  }

  public Path dir() {
    return dir;
  }

  /** Applies the folder's current content. {@code files} maps file name to text (null: unreadable). */
  public ScanResult apply(Map<String, String> current) {
    return apply(current, false);
  }

  /**
   * As {@link #apply(Map)}; with {@code reportAtOnce} (the load at start, or a file the admin API just
   * wrote) a failing file is reported on first sight instead of on the next scan.
   */
  public ScanResult apply(Map<String, String> current, boolean reportAtOnce) {
    List<ConfigException> rejected = new ArrayList<>();
    List<String> recovered = new ArrayList<>();
    boolean changed = accepted.keySet().retainAll(current.keySet());
    files.keySet().retainAll(current.keySet());
    inError.retainAll(current.keySet());
    Map<String, ZoneConfig> candidates = new LinkedHashMap<>();
    for (Map.Entry<String, String> file : new TreeMap<>(current).entrySet()) {
      String name = file.getKey();
      String text = file.getValue();
      FileState seen = files.get(name);
      // A CA bundle rotated in place (a mounted Secret's update) counts as a change of the zone file.
      if (seen != null && Objects.equals(seen.text(), text) && !caFileChanged(seen)) {
        switch (seen.verdict()) {
          case ACCEPTED, REPORTED -> {
          }
          case UNCONFIRMED -> {
            rejected.add(seen.error());
            inError.add(name);
            files.put(name, seen.judged(Verdict.REPORTED, null, seen.error()));
          }
          case CONFLICTING -> candidates.put(name, seen.parsed());
        }
        continue;
      }
      Path path = dir.resolve(name);
      Path caPath = text == null ? null : ZoneFileParser.caFileOf(path, text);
      FileState read = new FileState(text, caPath, caPath == null ? null : caFiles.read(caPath), null, null, null);
      try {
        if (text == null) {
          throw new ConfigException(displayName(path), null, "cannot read file");
        }
        ZoneConfig parsed = ZoneFileParser.parse(path, displayName(path), text);
        files.put(name, read.judged(Verdict.ACCEPTED, parsed, null));
        candidates.put(name, parsed);
      } catch (ConfigException e) {
        if (reportAtOnce) {
          rejected.add(e);
          inError.add(name);
        }
        files.put(name, read.judged(reportAtOnce ? Verdict.REPORTED : Verdict.UNCONFIRMED, null, e));
      }
    }
    Map<String, ConfigException> conflicts = conflicts(candidates);
    for (Map.Entry<String, ZoneConfig> candidate : candidates.entrySet()) {
      String name = candidate.getKey();
      ZoneConfig zone = candidate.getValue();
      ConfigException conflict = conflicts.get(name);
      FileState state = files.get(name);
      if (conflict != null) {
        if (state.verdict() != Verdict.CONFLICTING) {
          rejected.add(conflict);
          inError.add(name);
        }
        files.put(name, state.judged(Verdict.CONFLICTING, zone, conflict));
        continue;
      }
      files.put(name, state.judged(Verdict.ACCEPTED, zone, null));
      if (inError.remove(name)) {
        recovered.add(displayName(dir.resolve(name)));
      }
      ZoneConfig previous = accepted.put(name, zone);
      changed |= !zone.equals(previous);
    }
    caFiles.retain(files.values().stream().map(FileState::caPath).filter(Objects::nonNull).toList());
    return new ScanResult(rejected, recovered, changed);
  }

  /** How many times a CA file's content was read, for tests. */
  long caFilesRead() {
    return caFiles.filesRead();
  }

  /** Whether the CA file a zone file names holds other text than when the zone was judged. */
  private boolean caFileChanged(FileState seen) {
    return seen.caPath() != null && !Objects.equals(seen.caText(), caFiles.read(seen.caPath()));
  }

  /**
   * Which candidates (new file contents, valid on their own) must be refused for claiming a zone or
   * host of another file, judged as a set: each file counts with its candidate unless that is refused,
   * then with what is accepted for it. So zones may swap hosts in one edit (a ConfigMap update does),
   * which judged one file at a time against the other's old content would be refused for good. Where two
   * candidates claim the same thing, the file first by name keeps it, as before.
   */
  private Map<String, ConfigException> conflicts(Map<String, ZoneConfig> candidates) {
    Map<String, ConfigException> refused = new HashMap<>();
    List<String> lastFirst = new ArrayList<>(candidates.keySet());
    lastFirst.sort(Comparator.reverseOrder());
    boolean settled = false;
    while (!settled) {
      Map<String, ZoneConfig> view = new TreeMap<>(accepted);
      candidates.forEach((name, zone) -> {
        if (!refused.containsKey(name)) {
          view.put(name, zone);
        }
      });
      settled = true;
      for (String name : lastFirst) {
        ConfigException conflict = refused.containsKey(name) ? null : conflict(name, candidates.get(name), view);
        if (conflict != null) {
          refused.put(name, conflict);
          settled = false;
          break;
        }
      }
    }
    return refused;
  }

  /** Checks a zone against every other accepted zone; null when it fits. */
  public ConfigException conflict(String fileName, ZoneConfig zone) {
    return conflict(fileName, zone, accepted);
  }

  private ConfigException conflict(String fileName, ZoneConfig zone, Map<String, ZoneConfig> zones) {
    String file = displayName(dir.resolve(fileName));
    List<ZoneConfig> others = new ArrayList<>(builtIn);
    zones.forEach((name, z) -> {
      if (!name.equals(fileName)) {
        others.add(z);
      }
    });
    for (ZoneConfig other : others) {
      String where = other.source() != null ? " (" + displayName(other.source()) + ")" : "";
      if (other.zone().equals(zone.zone())) {
        return new ConfigException(file, "zone", "zone \"" + zone.zone() + "\" is already defined" + where);
      }
      for (int i = 0; i < zone.hosts().size(); i++) {
        if (other.hosts().contains(zone.hosts().get(i))) {
          return new ConfigException(file, "hosts[" + i + "]", "host \"" + zone.hosts().get(i)
            + "\" already belongs to zone \"" + other.zone() + "\"" + where);
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

  /** Whether {@code fileName} currently contributes an accepted zone (a rejected edit keeps it). */
  public boolean isAccepted(String fileName) {
    return accepted.containsKey(fileName);
  }

  /** Whether {@code zone} is built in (made in code, no file to edit). */
  public boolean isBuiltIn(String zone) {
    return builtIn.stream().anyMatch(z -> z.zone().equals(zone));
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
