package io.muxgate.origin;

import java.util.Map;

/** Header list sizes as HTTP/2 counts them, on either side of the proxy. */
public final class HeaderLists {

  private HeaderLists() {
  }

  /**
   * The size RFC 9113, section 6.5.2 gives a header list for SETTINGS_MAX_HEADER_LIST_SIZE: each field's
   * name and value length plus 32.
   */
  public static long size(Iterable<? extends Map.Entry<? extends CharSequence, ? extends CharSequence>> headers) {
    long size = 0;
    for (Map.Entry<? extends CharSequence, ? extends CharSequence> header : headers) {
      size += header.getKey().length() + header.getValue().length() + 32;
    }
    return size;
  }
}
