package io.muxgate.frontend;

import io.netty.channel.ChannelHandler;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectDecoder;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.vertx.core.internal.logging.Logger;
import io.vertx.core.internal.logging.LoggerFactory;

import java.lang.reflect.Field;

/**
 * Gives an HTTP/1.x request head cut at the header size limit back the header line Netty held when it gave
 * up, if that line is the Host: the refusal's zone is known by it. Netty keeps each header line until the
 * next one begins (which could continue it, as an obs-fold), so the line just before the one that
 * overflowed is dropped with it, and a Host sent right before one huge header left the 431 without a zone.
 * Read from the decoder's fields on this error path only; where they cannot be read, the 431 stays as it was.
 */
final class CutHeaderBlocks {

  private static final Logger log = LoggerFactory.getLogger(CutHeaderBlocks.class);
  private static final Field HELD_NAME = field("name");
  private static final Field HELD_VALUE = field("value");

  private CutHeaderBlocks() {
  }

  /** Adds the Host {@code decoder} held to {@code request}, which it failed for a header block too large. */
  static void keepHeldHost(ChannelHandler decoder, HttpRequest request) {
    if (HELD_NAME == null || HELD_VALUE == null || !(decoder instanceof HttpObjectDecoder)
      || !(request.decoderResult().cause() instanceof TooLongHttpHeaderException)
      || request.headers().contains(HttpHeaderNames.HOST)) {
      return;
    }
    try {
      if (HELD_NAME.get(decoder) instanceof CharSequence name && HttpHeaderNames.HOST.contentEqualsIgnoreCase(name)
        && HELD_VALUE.get(decoder) instanceof String value) {
        request.headers().add(HttpHeaderNames.HOST, value);
      }
    } catch (IllegalAccessException e) {
      // made accessible when resolved: not reached
    }
  }

  private static Field field(String name) {
    try {
      Field field = HttpObjectDecoder.class.getDeclaredField(name);
      field.setAccessible(true);
      return field;
    } catch (ReflectiveOperationException | RuntimeException e) {
      log.warn("HttpObjectDecoder." + name + " unavailable (" + e + "): a 431 whose Host came last before the "
        + "header over the limit is logged without its zone");
      return null;
    }
  }
}
