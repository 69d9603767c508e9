package io.muxgate.config;

import io.vertx.core.json.JsonObject;

import java.util.EnumMap;
import java.util.Map;

/** One zone's settings, every value validated; absent ones take their {@link Setting} default. */
public record ZoneSettings(
  String originMaxHttpVersion,
  int originH2MaxStreams,
  int originMaxConnections,
  int proxyConnectTimeoutSeconds,
  int proxyReadTimeoutSeconds,
  int originIdleTimeoutSeconds,
  int maxConcurrentRequests,
  long maxRequestBodyBytes) {

  public static final ZoneSettings DEFAULTS = from(new EnumMap<>(Setting.class));

  /** Builds settings from already validated values; missing keys take defaults. */
  public static ZoneSettings from(Map<Setting, Object> values) {
    return new ZoneSettings(
      (String) value(values, Setting.ORIGIN_MAX_HTTP_VERSION),
      intValue(values, Setting.ORIGIN_H2_MAX_STREAMS),
      intValue(values, Setting.ORIGIN_MAX_CONNECTIONS),
      intValue(values, Setting.PROXY_CONNECT_TIMEOUT),
      intValue(values, Setting.PROXY_READ_TIMEOUT),
      intValue(values, Setting.ORIGIN_IDLE_TIMEOUT),
      intValue(values, Setting.MAX_CONCURRENT_REQUESTS),
      ((Number) value(values, Setting.MAX_REQUEST_BODY_BYTES)).longValue());
  }

  private static Object value(Map<Setting, Object> values, Setting setting) {
    Object v = values.get(setting);
    return v != null ? v : setting.defaultValue();
  }

  private static int intValue(Map<Setting, Object> values, Setting setting) {
    return ((Number) value(values, setting)).intValue();
  }

  public boolean h2Allowed() {
    return "2".equals(originMaxHttpVersion);
  }

  /** The current value of one setting, as the admin API shows it. */
  public Object get(Setting setting) {
    return switch (setting) {
      case ORIGIN_MAX_HTTP_VERSION -> originMaxHttpVersion;
      case ORIGIN_H2_MAX_STREAMS -> originH2MaxStreams;
      case ORIGIN_MAX_CONNECTIONS -> originMaxConnections;
      case PROXY_CONNECT_TIMEOUT -> proxyConnectTimeoutSeconds;
      case PROXY_READ_TIMEOUT -> proxyReadTimeoutSeconds;
      case ORIGIN_IDLE_TIMEOUT -> originIdleTimeoutSeconds;
      case MAX_CONCURRENT_REQUESTS -> maxConcurrentRequests;
      case MAX_REQUEST_BODY_BYTES -> maxRequestBodyBytes;
    };
  }

  public JsonObject toJson() {
    JsonObject json = new JsonObject();
    for (Setting s : Setting.values()) {
      json.put(s.id(), get(s));
    }
    return json;
  }
}
