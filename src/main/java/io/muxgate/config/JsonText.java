package io.muxgate.config;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.io.JsonEOFException;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Parses a config file's text into a JSON object, turning Jackson's multi-line diagnostics into one
 * short reason with a line and column, e.g. {@code invalid JSON at line 3, column 1: unexpected end of input}.
 */
final class JsonText {

  private JsonText() {
  }

  /** Reports a key given twice in one object, which a plain parse would settle silently for the last. */
  private static final JsonFactory STRICT = JsonFactory.builder()
    .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

  /** @throws IllegalArgumentException whose message is the reason, ready to follow {@code file: } */
  static JsonObject object(String text) {
    if (text.startsWith("\uFEFF")) {
      text = text.substring(1); // the byte order mark some Windows editors put in UTF-8 files
    }
    String trimmed = text.strip();
    if (trimmed.isEmpty()) {
      throw new IllegalArgumentException("invalid JSON: the file is empty");
    }
    if (!trimmed.startsWith("{")) {
      throw new IllegalArgumentException("invalid JSON: the top level must be an object {...}");
    }
    try {
      rejectDuplicateKeys(text);
      return new JsonObject(text);
    } catch (DecodeException | ClassCastException e) {
      throw new IllegalArgumentException(reason(e));
    }
  }

  private static void rejectDuplicateKeys(String text) {
    try (JsonParser parser = STRICT.createParser(text)) {
      while (parser.nextToken() != null) {
        // every token read, so that each object's names are checked
      }
    } catch (JsonProcessingException e) {
      throw new DecodeException(e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String reason(RuntimeException e) {
    if (!(e.getCause() instanceof JsonProcessingException cause)) {
      return "invalid JSON: " + firstLine(e.getMessage());
    }
    boolean truncated = cause instanceof JsonEOFException
      || String.valueOf(cause.getOriginalMessage()).startsWith("Unexpected end-of-input");
    String what = truncated ? "unexpected end of input (truncated file?)" : shorten(cause.getOriginalMessage());
    JsonLocation at = cause.getLocation();
    return at == null ? "invalid JSON: " + what
      : "invalid JSON at line " + at.getLineNr() + ", column " + at.getColumnNr() + ": " + what;
  }

  /** Drops Jackson's "(start marker at [Source: ...])" tail and keeps the first line. */
  private static String shorten(String message) {
    String line = firstLine(message);
    int marker = line.indexOf(" (start marker at");
    return marker > 0 ? line.substring(0, marker) : line;
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "unreadable";
    }
    int nl = message.indexOf('\n');
    return nl < 0 ? message : message.substring(0, nl);
  }
}
