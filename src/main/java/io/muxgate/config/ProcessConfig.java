package io.muxgate.config;

import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * The process config (muxgate.json), read once at start. Relative paths are already resolved against
 * the folder of the file. The admin token is loaded here so a missing token file fails at start.
 */
public record ProcessConfig(
  int httpPort,
  int httpsPort,
  int adminPort,
  String bind,
  String adminBind,
  Path tlsCertFile,
  Path tlsKeyFile,
  Path tenantsDir,
  long configScanPeriodMs,
  int eventLoops,
  String adminToken,
  boolean accessLog,
  int drainTimeoutSeconds,
  boolean demoOrigin,
  int warmupSeconds) {

  public static final int DEFAULT_HTTP_PORT = 8080;
  public static final int DEFAULT_HTTPS_PORT = 8443;
  public static final int DEFAULT_ADMIN_PORT = 9090;
  public static final String DEFAULT_BIND = "0.0.0.0";
  public static final String DEFAULT_TENANTS_DIR = "tenants";
  public static final long DEFAULT_SCAN_PERIOD_MS = 1000;
  public static final int DEFAULT_DRAIN_TIMEOUT_S = 30;
  public static final int MAX_WARMUP_S = 120;

  private static final Set<String> FIELDS = Set.of("http_port", "https_port", "admin_port", "bind", "admin_bind",
    "tls", "tenants_dir", "config_scan_period_ms", "event_loops", "admin_token_file", "access_log",
    "drain_timeout_s", "demo_origin", "warmup_s");

  /** Reads and validates the file; {@code env} supplies MUXGATE_ADMIN_TOKEN. */
  public static ProcessConfig load(Path file, Map<String, String> env) {
    String name = file.toString();
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new ConfigException(name, null, "file not found");
    } catch (IOException e) {
      throw new ConfigException(name, null, "cannot read: " + e.getMessage());
    }
    JsonObject json;
    try {
      json = text.isBlank() ? new JsonObject() : JsonText.object(text);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(name, null, e.getMessage());
    }
    return fromJson(file, json, env);
  }

  public static ProcessConfig fromJson(Path file, JsonObject json, Map<String, String> env) {
    Fields f = new Fields(file.toString(), json);
    for (String key : json.fieldNames()) {
      if (!FIELDS.contains(key)) {
        throw new ConfigException(file.toString(), key, "unknown field");
      }
    }
    Path folder = file.toAbsolutePath().getParent();
    String bind = f.string("bind", DEFAULT_BIND);
    Path cert = null;
    Path key = null;
    if (json.getValue("tls") != null) {
      if (!(json.getValue("tls") instanceof JsonObject tls)) {
        throw new ConfigException(file.toString(), "tls", "must be an object");
      }
      Fields t = new Fields(file.toString(), tls, "tls.");
      cert = t.path(folder, "cert_file");
      key = t.path(folder, "key_file");
      if ((cert == null) != (key == null)) {
        throw new ConfigException(file.toString(), cert == null ? "tls.cert_file" : "tls.key_file",
          "cert_file and key_file go together");
      }
    }
    Path tokenFile = f.path(folder, "admin_token_file");
    String token = tokenFile != null ? readToken(file.toString(), tokenFile) : env.get("MUXGATE_ADMIN_TOKEN");
    if (token != null && token.isBlank()) {
      token = null;
    }
    return new ProcessConfig(
      f.port("http_port", DEFAULT_HTTP_PORT),
      f.port("https_port", DEFAULT_HTTPS_PORT),
      f.port("admin_port", DEFAULT_ADMIN_PORT),
      bind,
      f.string("admin_bind", bind),
      cert,
      key,
      folder.resolve(f.string("tenants_dir", DEFAULT_TENANTS_DIR)).normalize(),
      f.integer("config_scan_period_ms", DEFAULT_SCAN_PERIOD_MS, 50, 3_600_000),
      (int) f.integer("event_loops", 0, 0, 256),
      token,
      f.bool("access_log", true),
      (int) f.integer("drain_timeout_s", DEFAULT_DRAIN_TIMEOUT_S, 0, 3600),
      f.bool("demo_origin", false),
      (int) f.integer("warmup_s", 0, 0, MAX_WARMUP_S));
  }

  private static String readToken(String file, Path tokenFile) {
    try {
      String token = Files.readString(tokenFile, StandardCharsets.UTF_8).strip();
      if (token.isEmpty()) {
        throw new ConfigException(file, "admin_token_file", tokenFile + " is empty");
      }
      return token;
    } catch (IOException e) {
      throw new ConfigException(file, "admin_token_file", "cannot read " + tokenFile);
    }
  }

  /** The number of proxy verticle instances: {@code event_loops}, or one per core when 0. */
  public int proxyInstances() {
    return eventLoops > 0 ? eventLoops : Runtime.getRuntime().availableProcessors();
  }

  private record Fields(String file, JsonObject json, String prefix) {
    Fields(String file, JsonObject json) {
      this(file, json, "");
    }

    ConfigException error(String field, String reason) {
      return new ConfigException(file, prefix + field, reason);
    }

    long integer(String field, long fallback, long min, long max) {
      Object v = json.getValue(field);
      if (v == null) {
        return fallback;
      }
      if (!(v instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue())
        || n.longValue() < min || n.longValue() > max) {
        throw error(field, "must be " + min + ".." + max + ", got " + Setting.describe(v));
      }
      return n.longValue();
    }

    int port(String field, int fallback) {
      return (int) integer(field, fallback, 0, 65535);
    }

    String string(String field, String fallback) {
      Object v = json.getValue(field);
      if (v == null) {
        return fallback;
      }
      if (!(v instanceof String s) || s.isBlank()) {
        throw error(field, "must be a non-empty string");
      }
      return s;
    }

    boolean bool(String field, boolean fallback) {
      Object v = json.getValue(field);
      if (v == null) {
        return fallback;
      }
      if (!(v instanceof Boolean b)) {
        throw error(field, "must be true or false");
      }
      return b;
    }

    Path path(Path folder, String field) {
      String v = string(field, null);
      if (v == null) {
        return null;
      }
      Path p = folder.resolve(v).normalize();
      if (!Files.isReadable(p)) {
        throw error(field, "cannot read " + p);
      }
      return p;
    }
  }
}
