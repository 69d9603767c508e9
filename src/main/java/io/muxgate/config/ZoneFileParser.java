package io.muxgate.config;

import io.netty.util.NetUtil;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Turns one zone file's text into a validated {@link ZoneConfig}, or a {@link ConfigException} naming
 * the file, the JSON path of the offending field and the reason.
 */
public final class ZoneFileParser {

  private static final Set<String> TOP_LEVEL_FIELDS = Set.of(
    "zone", "hosts", "origins", "origin_sni", "origin_tls_verify", "origin_ca_file", "settings", "routes");
  private static final Set<String> ROUTE_FIELDS = Set.of("prefix", "origins", "strip_prefix");
  private static final Pattern ZONE_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,252}");
  private static final Pattern HOST_NAME = Pattern.compile("(\\*\\.)?[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?");
  /** A name SNI can carry (RFC 6066: a DNS host name, LDH labels), or an IPv4 address; a root dot may end it. */
  private static final Pattern SNI_NAME =
    Pattern.compile("[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\\.?", Pattern.CASE_INSENSITIVE);

  private ZoneFileParser() {
  }

  public static ZoneConfig parse(Path file, String text) {
    return parse(file, file.toString(), text);
  }

  /** Parses {@code text}, naming the file {@code name} in errors; relative paths resolve beside {@code file}. */
  public static ZoneConfig parse(Path file, String name, String text) {
    JsonObject json;
    try {
      json = JsonText.object(text);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(name, null, e.getMessage());
    }
    return parse(file, name, json);
  }

  public static ZoneConfig parse(Path file, String name, JsonObject json) {
    try {
      return parseJson(file, json);
    } catch (FieldError e) {
      throw new ConfigException(name, e.field, e.getMessage());
    }
  }

  private static ZoneConfig parseJson(Path file, JsonObject json) {
    for (String key : json.fieldNames()) {
      if (!TOP_LEVEL_FIELDS.contains(key)) {
        throw new FieldError(key, "unknown field");
      }
    }
    String zone = requiredString(json, "zone");
    if (!ZONE_ID.matcher(zone).matches()) {
      throw new FieldError("zone", "must be letters, digits, '.', '_' or '-', got \"" + zone + "\"");
    }
    List<String> hosts = hosts(json);
    List<OriginAddress> origins = origins(json.getValue("origins"), "origins");
    List<Route> routes = routes(json.getValue("routes"));
    String sni = originSni(json);
    boolean verify = optionalBoolean(json, "origin_tls_verify", true);
    CaBundle caFile = caFile(file, optionalString(json, "origin_ca_file"));
    ZoneSettings settings = settings(json.getValue("settings"));
    return new ZoneConfig(zone, hosts, origins, routes, sni, verify, caFile, settings, file);
  }

  /** Validates a {@code settings} object: every key known, every value in range. */
  public static ZoneSettings settings(Object value) {
    if (value == null) {
      return ZoneSettings.DEFAULTS;
    }
    if (!(value instanceof JsonObject object)) {
      throw new FieldError("settings", "must be an object");
    }
    Map<Setting, Object> values = new EnumMap<>(Setting.class);
    for (String key : object.fieldNames()) {
      Setting setting = Setting.byId(key)
        .orElseThrow(() -> new FieldError("settings." + key, "unknown setting"));
      try {
        values.put(setting, setting.parse(object.getValue(key)));
      } catch (IllegalArgumentException e) {
        throw new FieldError("settings." + key, e.getMessage());
      }
    }
    return ZoneSettings.from(values);
  }

  private static List<String> hosts(JsonObject json) {
    JsonArray array = requiredArray(json, "hosts");
    List<String> hosts = new ArrayList<>();
    for (int i = 0; i < array.size(); i++) {
      String field = "hosts[" + i + "]";
      if (!(array.getValue(i) instanceof String raw)) {
        throw new FieldError(field, "must be a string");
      }
      String host = raw.toLowerCase(Locale.ROOT);
      if (host.indexOf(':') >= 0) {
        host = Ipv6Host.canonical(host);
        if (host == null) {
          throw new FieldError(field, "not an IPv6 address (a port, a zone index or a wildcard cannot be part of one): \""
            + raw + "\"");
        }
      } else if (!HOST_NAME.matcher(host).matches()) {
        throw new FieldError(field, "not a host name or *.wildcard: \"" + raw + "\"");
      }
      if (hosts.contains(host)) {
        throw new FieldError(field, "duplicate host \"" + raw + "\"");
      }
      hosts.add(host);
    }
    return hosts;
  }

  private static List<OriginAddress> origins(Object value, String field) {
    if (value == null) {
      throw new FieldError(field, "required");
    }
    if (!(value instanceof JsonArray array) || array.isEmpty()) {
      throw new FieldError(field, "must be a non-empty array of origin URLs");
    }
    List<OriginAddress> origins = new ArrayList<>();
    for (int i = 0; i < array.size(); i++) {
      String itemField = field + "[" + i + "]";
      if (!(array.getValue(i) instanceof String text)) {
        throw new FieldError(itemField, "must be a string");
      }
      try {
        OriginAddress origin = OriginAddress.parse(text);
        if (origins.contains(origin)) {
          throw new FieldError(itemField, "duplicate origin " + origin);
        }
        origins.add(origin);
      } catch (IllegalArgumentException e) {
        throw new FieldError(itemField, e.getMessage());
      }
    }
    return origins;
  }

  private static List<Route> routes(Object value) {
    if (value == null) {
      return List.of();
    }
    if (!(value instanceof JsonArray array)) {
      throw new FieldError("routes", "must be an array");
    }
    List<Route> routes = new ArrayList<>();
    for (int i = 0; i < array.size(); i++) {
      String field = "routes[" + i + "]";
      if (!(array.getValue(i) instanceof JsonObject route)) {
        throw new FieldError(field, "must be an object");
      }
      for (String key : route.fieldNames()) {
        if (!ROUTE_FIELDS.contains(key)) {
          throw new FieldError(field + "." + key, "unknown field");
        }
      }
      if (!(route.getValue("prefix") instanceof String prefix) || !prefix.startsWith("/")) {
        throw new FieldError(field + ".prefix", "must be a path starting with '/'");
      }
      if (routes.stream().anyMatch(r -> r.prefix().equals(prefix))) {
        throw new FieldError(field + ".prefix", "duplicate prefix \"" + prefix + "\"");
      }
      Object strip = route.getValue("strip_prefix", false);
      if (!(strip instanceof Boolean stripPrefix)) {
        throw new FieldError(field + ".strip_prefix", "must be true or false");
      }
      routes.add(new Route(prefix, origins(route.getValue("origins"), field + ".origins"), stripPrefix));
    }
    return routes;
  }

  private static CaBundle caFile(Path zoneFile, String value) {
    if (value == null) {
      return null;
    }
    Path path = resolveBeside(zoneFile, value);
    byte[] pem;
    try {
      pem = Files.readAllBytes(path);
    } catch (NoSuchFileException e) {
      throw new FieldError("origin_ca_file", "cannot read " + path + ": no such file");
    } catch (IOException e) {
      throw new FieldError("origin_ca_file", "cannot read " + path + (Files.isDirectory(path) ? ": is a folder" : ""));
    }
    String problem = PemCertificates.problem(path, pem);
    if (problem != null) {
      throw new FieldError("origin_ca_file", problem);
    }
    return new CaBundle(path, new String(pem, StandardCharsets.ISO_8859_1));
  }

  /**
   * The {@code origin_ca_file} that {@code text} names, resolved beside {@code zoneFile}, or null if it
   * names none or is not a JSON object: which file a zone file depends on, whether or not it is valid.
   */
  public static Path caFileOf(Path zoneFile, String text) {
    try {
      Object value = JsonText.object(text).getValue("origin_ca_file");
      return value instanceof String s && !s.isEmpty() ? resolveBeside(zoneFile, s) : null;
    } catch (RuntimeException e) {
      return null;
    }
  }

  private static Path resolveBeside(Path zoneFile, String value) {
    Path folder = zoneFile.toAbsolutePath().getParent();
    return (folder == null ? Path.of(value) : folder.resolve(value)).normalize();
  }

  private static String requiredString(JsonObject json, String field) {
    Object value = json.getValue(field);
    if (value == null) {
      throw new FieldError(field, "required");
    }
    if (!(value instanceof String s) || s.isEmpty()) {
      throw new FieldError(field, "must be a non-empty string");
    }
    return s;
  }

  private static JsonArray requiredArray(JsonObject json, String field) {
    Object value = json.getValue(field);
    if (value == null) {
      throw new FieldError(field, "required");
    }
    if (!(value instanceof JsonArray array) || array.isEmpty()) {
      throw new FieldError(field, "must be a non-empty array");
    }
    return array;
  }

  /** Without this a value the TLS stack cannot indicate failed every connection, with a 525 or a 526. */
  private static String originSni(JsonObject json) {
    String sni = optionalString(json, "origin_sni");
    if (sni != null && !SNI_NAME.matcher(sni).matches() && !NetUtil.isValidIpV6Address(sni)) {
      throw new FieldError("origin_sni", "must be a host name or an IP address, got \"" + sni + "\"");
    }
    return sni;
  }

  private static String optionalString(JsonObject json, String field) {
    Object value = json.getValue(field);
    if (value == null) {
      return null;
    }
    if (!(value instanceof String s) || s.isEmpty()) {
      throw new FieldError(field, "must be a non-empty string");
    }
    return s;
  }

  private static boolean optionalBoolean(JsonObject json, String field, boolean fallback) {
    Object value = json.getValue(field);
    if (value == null) {
      return fallback;
    }
    if (!(value instanceof Boolean b)) {
      throw new FieldError(field, "must be true or false");
    }
    return b;
  }

  /** A validation failure before the file name is attached. */
  static final class FieldError extends IllegalArgumentException {
    final String field;

    FieldError(String field, String reason) {
      super(reason, null);
      this.field = field;
    }
  }
}
