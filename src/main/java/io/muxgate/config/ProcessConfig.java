package io.muxgate.config;

import io.netty.util.NetUtil;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
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
  int warmupSeconds,
  int clientIdleTimeoutSeconds) {

  public static final int DEFAULT_HTTP_PORT = 8080;
  public static final int DEFAULT_HTTPS_PORT = 8443;
  public static final int DEFAULT_ADMIN_PORT = 9090;
  public static final String DEFAULT_BIND = "0.0.0.0";
  public static final String DEFAULT_TENANTS_DIR = "tenants";
  public static final long DEFAULT_SCAN_PERIOD_MS = 1000;
  public static final int DEFAULT_DRAIN_TIMEOUT_S = 30;
  public static final int MAX_WARMUP_S = 120;
  /** As nginx's keepalive_timeout and HAProxy's timeout http-keep-alive are commonly set. */
  public static final int DEFAULT_CLIENT_IDLE_TIMEOUT_S = 60;

  private static final Set<String> FIELDS = Set.of("http_port", "https_port", "admin_port", "bind", "admin_bind",
    "tls", "tenants_dir", "config_scan_period_ms", "event_loops", "admin_token_file", "access_log",
    "drain_timeout_s", "demo_origin", "warmup_s", "client_idle_timeout_s");

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
      if (text.isBlank()) {
        throw new ConfigException(name, null, "the file is empty (\"{}\" takes every default)");
      }
      json = JsonText.object(text);
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
    String bind = f.address("bind", DEFAULT_BIND);
    String adminBind = f.address("admin_bind", bind);
    Path cert = null;
    Path key = null;
    if (json.getValue("tls") != null) {
      if (!(json.getValue("tls") instanceof JsonObject tls)) {
        throw new ConfigException(file.toString(), "tls", "must be an object");
      }
      for (String field : tls.fieldNames()) {
        if (!field.equals("cert_file") && !field.equals("key_file")) {
          throw new ConfigException(file.toString(), "tls." + field, "unknown field (cert_file and key_file are)");
        }
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
    int httpPort = f.port("http_port", DEFAULT_HTTP_PORT);
    int httpsPort = f.port("https_port", DEFAULT_HTTPS_PORT);
    int adminPort = f.port("admin_port", DEFAULT_ADMIN_PORT);
    if (httpPort != 0 && httpPort == httpsPort) {
      throw new ConfigException(file.toString(), "https_port", "same port as http_port (" + httpPort + ")");
    }
    if (adminPort != 0 && (adminPort == httpPort || adminPort == httpsPort) && overlap(bind, adminBind)) {
      // Both listeners would share the port and split its connections between them.
      throw new ConfigException(file.toString(), "admin_port", "same port as "
        + (adminPort == httpPort ? "http_port" : "https_port") + " (" + adminPort + ") on the same address");
    }
    return new ProcessConfig(
      httpPort,
      httpsPort,
      adminPort,
      bind,
      adminBind,
      cert,
      key,
      folder.resolve(f.string("tenants_dir", DEFAULT_TENANTS_DIR)).normalize(),
      f.integer("config_scan_period_ms", DEFAULT_SCAN_PERIOD_MS, 50, 3_600_000),
      (int) f.integer("event_loops", 0, 0, 256),
      token,
      f.bool("access_log", true),
      (int) f.integer("drain_timeout_s", DEFAULT_DRAIN_TIMEOUT_S, 0, 3600),
      f.bool("demo_origin", false),
      (int) f.integer("warmup_s", 0, 0, MAX_WARMUP_S),
      (int) f.integer("client_idle_timeout_s", DEFAULT_CLIENT_IDLE_TIMEOUT_S, 1, 3600));
  }

  /** Whether listeners on {@code a} and {@code b} would take the same connections. */
  private static boolean overlap(String a, String b) {
    return a.equals(b) || isWildcard(a) || isWildcard(b);
  }

  private static boolean isWildcard(String address) {
    return address.equals("0.0.0.0") || address.equals("::") || address.equals("[::]");
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
      Long whole = Setting.wholeWithin(v, min, max);
      if (whole == null) {
        throw error(field, "must be " + min + ".." + max + ", got " + Setting.describe(v));
      }
      return whole;
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

    /**
     * A listen address: an IP literal, or a name resolved now, so that a typo fails here and not as a
     * listener that cannot bind.
     */
    String address(String field, String fallback) {
      String v = string(field, fallback);
      String literal = v.startsWith("[") && v.endsWith("]") ? v.substring(1, v.length() - 1) : v;
      if (NetUtil.isValidIpV4Address(literal) || NetUtil.isValidIpV6Address(literal)) {
        return literal;
      }
      if (!v.matches("[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?") || v.matches("[0-9.]+")) {
        throw error(field, "must be an IP address or a host name, got " + Setting.describe(v));
      }
      try {
        InetAddress.getByName(v);
      } catch (UnknownHostException e) {
        throw error(field, "cannot resolve " + v);
      }
      return v;
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
      if (!Files.isReadable(p) || Files.isDirectory(p)) {
        throw error(field, "cannot read " + p + (!Files.exists(p) ? " (no such file)"
          : Files.isDirectory(p) ? " (a folder)" : " (permission denied)"));
      }
      return p;
    }
  }
}
