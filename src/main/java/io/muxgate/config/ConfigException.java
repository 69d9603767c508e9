package io.muxgate.config;

/**
 * A configuration value that cannot be accepted. The message always reads {@code file: field: reason}
 * so an operator can find and fix the line without reading a stack trace.
 */
public final class ConfigException extends RuntimeException {

  private final String file;
  private final String field;
  private final String reason;

  public ConfigException(String file, String field, String reason) {
    super(format(file, field, reason), null, false, false);
    this.file = file;
    this.field = field;
    this.reason = reason;
  }

  private static String format(String file, String field, String reason) {
    StringBuilder sb = new StringBuilder();
    if (file != null) {
      sb.append(file).append(": ");
    }
    if (field != null && !field.isEmpty()) {
      sb.append(field).append(": ");
    }
    return printable(sb.append(reason).toString());
  }

  /**
   * {@code text} with its control characters and line separators written as escapes ({@code \n}, {@code \t},
   * else four hex digits after a backslash and u): a value quoted from a file, or the file's own name, stays on the one line that reports
   * it and cannot start another that looks like the proxy's.
   */
  public static String printable(String text) {
    StringBuilder sb = null;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (!Character.isISOControl(c) && c != '\u2028' && c != '\u2029') {
        if (sb != null) {
          sb.append(c);
        }
        continue;
      }
      if (sb == null) {
        sb = new StringBuilder(text.length() + 8).append(text, 0, i);
      }
      switch (c) {
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> sb.append(String.format("\\u%04x", (int) c));
      }
    }
    return sb == null ? text : sb.toString();
  }

  public String file() {
    return file;
  }

  public String field() {
    return field;
  }

  public String reason() {
    return reason;
  }

  /** The same error attributed to another file (validation runs before the file name is known). */
  public ConfigException inFile(String otherFile) {
    return new ConfigException(otherFile, field, reason);
  }
}
