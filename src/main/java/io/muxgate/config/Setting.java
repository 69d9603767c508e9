package io.muxgate.config;

import io.vertx.core.json.JsonObject;

import java.math.BigDecimal;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The per-zone settings, each with its default and its validator. Zone files and the admin API's PATCH
 * both go through {@link #parse}, so a value is accepted or refused the same way wherever it comes from.
 */
public enum Setting {
  ORIGIN_MAX_HTTP_VERSION("origin_max_http_version", "2") {
    @Override
    public Object parse(Object value) {
      if (value instanceof String s && (s.equals("1") || s.equals("2"))) {
        return s;
      }
      if (value instanceof Number n && (n.intValue() == 1 || n.intValue() == 2) && n.doubleValue() == n.intValue()) {
        return String.valueOf(n.intValue());
      }
      throw new IllegalArgumentException("must be \"1\" or \"2\", got " + describe(value));
    }
  },
  ORIGIN_H2_MAX_STREAMS("origin_h2_max_streams", 100L, 1, 1000),
  ORIGIN_MAX_CONNECTIONS("origin_max_connections", 64L, 1, 10_000),
  PROXY_CONNECT_TIMEOUT("proxy_connect_timeout", 19L, 1, 60),
  PROXY_READ_TIMEOUT("proxy_read_timeout", 100L, 1, 6000),
  ORIGIN_IDLE_TIMEOUT("origin_idle_timeout", 900L, 1, 3600),
  MAX_CONCURRENT_REQUESTS("max_concurrent_requests", 10_000L, 1, 1_000_000),
  MAX_REQUEST_BODY_BYTES("max_request_body_bytes", 104_857_600L, 0, Long.MAX_VALUE);

  private static final Map<String, Setting> BY_ID =
    Arrays.stream(values()).collect(Collectors.toUnmodifiableMap(Setting::id, Function.identity()));

  private final String id;
  private final Object defaultValue;
  private final long min;
  private final long max;

  Setting(String id, Object defaultValue) {
    this(id, defaultValue, 0, 0);
  }

  Setting(String id, Object defaultValue, long min, long max) {
    this.id = id;
    this.defaultValue = defaultValue;
    this.min = min;
    this.max = max;
  }

  public String id() {
    return id;
  }

  public Object defaultValue() {
    return defaultValue;
  }

  public static Optional<Setting> byId(String id) {
    return Optional.ofNullable(BY_ID.get(id));
  }

  public static List<String> ids() {
    return Arrays.stream(values()).map(Setting::id).toList();
  }

  /**
   * Validates a JSON value and returns it in canonical form (a {@code Long} for numbers, a
   * {@code String} for the HTTP version).
   *
   * @throws IllegalArgumentException with a reason such as {@code must be 1..1000, got 0}
   */
  public Object parse(Object value) {
    Long v = wholeWithin(value, min, max);
    if (v != null) {
      return v;
    }
    throw new IllegalArgumentException("must be " + range() + ", got " + describe(value));
  }

  /**
   * A JSON number as a long if it is a whole number within {@code min..max}, compared exactly: the parser
   * hands integers past 64 bits over as big integers, whose {@code longValue()} would wrap into range
   * (18446744073709551617 read as 1).
   */
  static Long wholeWithin(Object value, long min, long max) {
    if (!(value instanceof Number n)) {
      return null;
    }
    BigDecimal exact;
    try {
      exact = new BigDecimal(n.toString());
    } catch (NumberFormatException notFinite) {
      return null;
    }
    if (exact.signum() != 0 && exact.stripTrailingZeros().scale() > 0
      || exact.compareTo(BigDecimal.valueOf(min)) < 0 || exact.compareTo(BigDecimal.valueOf(max)) > 0) {
      return null;
    }
    return exact.longValue();
  }

  public String range() {
    return max == Long.MAX_VALUE ? "an integer >= " + min : min + ".." + max;
  }

  static String describe(Object value) {
    if (value == null) {
      return "null";
    }
    if (value instanceof String s) {
      return '"' + s + '"';
    }
    if (value instanceof JsonObject) {
      return "an object";
    }
    return String.valueOf(value);
  }
}
