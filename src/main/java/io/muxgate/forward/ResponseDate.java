package io.muxgate.forward;

import io.netty.handler.codec.DateFormatter;
import io.netty.util.AsciiString;

import java.util.Date;

/**
 * The {@code Date} a response gets when its origin sent none, and the proxy's own answers: RFC 9110
 * (section 6.6.1) asks a recipient with a clock to add one to a response it forwards without. Formatted
 * (IMF-fixdate) once per second, whichever event loop asks first.
 */
final class ResponseDate {

  static final AsciiString DATE = AsciiString.cached("date");

  private record Stamp(long second, AsciiString text) {
  }

  private static volatile Stamp latest = new Stamp(Long.MIN_VALUE, null);

  private ResponseDate() {
  }

  static AsciiString now() {
    long second = System.currentTimeMillis() / 1000;
    Stamp stamp = latest;
    if (stamp.second != second) {
      stamp = new Stamp(second, AsciiString.cached(DateFormatter.format(new Date(second * 1000))));
      latest = stamp;
    }
    return stamp.text;
  }
}
