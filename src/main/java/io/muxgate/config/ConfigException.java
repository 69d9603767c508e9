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
    return sb.append(reason).toString();
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
