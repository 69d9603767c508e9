package io.muxgate.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * One PATCH of one zone setting: validated exactly like a zone file, then written back to the zone's
 * file atomically (temp file in the same folder, then rename), keeping the rest of the file as it was.
 */
public final class SettingsPatch {

  /** The HTTP status and the Cloudflare-style envelope to answer with. */
  public record Result(int status, JsonObject envelope) {
    public JsonObject toJson() {
      return new JsonObject().put("status", status).put("envelope", envelope);
    }
  }

  private static final String BODY = "body must be a JSON object {\"value\": V}";

  private SettingsPatch() {
  }

  /**
   * The V of a PATCH body {@code {"value": V}} for setting {@code id}, read as strictly as a zone file: a
   * key given twice, or a field beside {@code value} (a typo of the setting's name, a value meant for
   * another API), is refused rather than settled silently. The other fields of the setting's GET answer
   * are let by, {@code id} when it names this setting, so that a client may send back what it read with
   * a new value.
   *
   * @throws IllegalArgumentException whose message is the reason, for a 400
   */
  public static Object value(String body, String id) {
    if (body == null) {
      body = "";
    }
    JsonObject json;
    try {
      json = JsonText.object(body);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(body.strip().startsWith("{") ? BODY + ": " + e.getMessage() : BODY);
    }
    if (!json.containsKey("value")) {
      throw new IllegalArgumentException(BODY);
    }
    for (String field : json.fieldNames()) {
      if (field.equals("id") && !id.equals(json.getValue("id"))) {
        throw new IllegalArgumentException("\"id\" in the body is " + json.getValue("id") + ", not the path's \""
          + id + "\"");
      }
      if (!field.equals("value") && !field.equals("id") && !field.equals("editable")) {
        throw new IllegalArgumentException("unknown field \"" + field + "\" in the body: " + BODY + " alone");
      }
    }
    return json.getValue("value");
  }

  public static Result apply(ZoneCatalog catalog, String zone, String id, Object value) {
    Path file = catalog.fileOf(zone);
    if (file == null) {
      return catalog.isBuiltIn(zone)
        ? error(409, 1006, "zone \"" + zone + "\" is built in and has no zone file to change")
        : error(404, 1001, "unknown zone \"" + zone + "\"");
    }
    Setting setting = Setting.byId(id).orElse(null);
    if (setting == null) {
      return error(404, 1002, "unknown setting \"" + id + "\"; known: " + String.join(", ", Setting.ids()));
    }
    Object parsed;
    try {
      parsed = setting.parse(value);
    } catch (IllegalArgumentException e) {
      return error(400, 1003, "settings." + id + ": " + e.getMessage());
    }
    String name = catalog.displayName(file);
    if (Files.isSymbolicLink(file)) {
      // A mounted ConfigMap (zone.json -> ..data/zone.json): a write here would replace the link with a
      // file the next ConfigMap update no longer reaches (or fail, the mount being read-only).
      return error(409, 1007, name + " is a symbolic link (a mounted ConfigMap?): change the zone at its source");
    }
    try {
      JsonObject json;
      try {
        json = JsonText.object(Files.readString(file, StandardCharsets.UTF_8));
      } catch (IllegalArgumentException e) {
        return fileNeedsFixing(new ConfigException(name, null, e.getMessage()));
      }
      Object settings = json.getValue("settings");
      if (settings == null) {
        settings = new JsonObject();
        json.put("settings", settings);
      }
      if (!(settings instanceof JsonObject object)) {
        return fileNeedsFixing(new ConfigException(name, "settings", "must be an object"));
      }
      object.put(id, parsed);
      ZoneConfig updated;
      try {
        updated = ZoneFileParser.parse(file, name, json);
      } catch (ConfigException e) {
        return fileNeedsFixing(e);
      }
      ConfigException conflict = catalog.conflict(file.getFileName().toString(), updated);
      if (conflict != null) {
        return fileNeedsFixing(conflict);
      }
      writeAtomically(file, json.encodePrettily() + "\n");
    } catch (NoSuchFileException e) {
      // Deleted since the last scan: the zone is on its way out, and the PATCH does not bring it back.
      return error(404, 1001, "zone \"" + zone + "\" is being removed: " + catalog.displayName(file) + " is gone");
    } catch (IOException | RuntimeException e) {
      return error(500, 1005, "cannot update " + catalog.displayName(file) + ": " + e.getMessage());
    }
    return new Result(200, envelope(true, new JsonArray())
      .put("result", new JsonObject().put("id", id).put("value", parsed)));
  }

  private static void writeAtomically(Path file, String text) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
    try {
      keepPermissions(file, tmp);
      try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
        ByteBuffer bytes = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        while (bytes.hasRemaining()) {
          channel.write(bytes);
        }
        channel.force(true);
      }
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** createTempFile makes the file private; the zone file keeps the mode it had. */
  private static void keepPermissions(Path from, Path to) {
    try {
      Files.setPosixFilePermissions(to, Files.getPosixFilePermissions(from));
    } catch (IOException | UnsupportedOperationException e) {
      // not a POSIX file system, or the original is gone: the new file keeps the default mode
    }
  }

  /** The value is fine but the file as it is on disk is not: the PATCH would not be the only change. */
  private static Result fileNeedsFixing(ConfigException e) {
    return error(409, 1004, e.getMessage() + " (fix the zone file first; the zone keeps its last good config)");
  }

  static Result error(int status, int code, String message) {
    JsonArray errors = new JsonArray().add(new JsonObject().put("code", code).put("message", message));
    return new Result(status, envelope(false, errors).putNull("result"));
  }

  static JsonObject envelope(boolean success, JsonArray errors) {
    return new JsonObject().put("success", success).put("errors", errors).put("messages", new JsonArray());
  }
}
