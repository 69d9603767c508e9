package io.muxgate.forward;

import io.netty.handler.codec.DecoderException;

/**
 * The decoder result of an HTTP/1.x-framed request line naming a version other than HTTP/1.x ("GET /
 * HTTP/2.0"): {@link Forwarder#handleInvalid} answers it 505.
 */
public final class UnsupportedHttpVersion extends DecoderException {

  public UnsupportedHttpVersion(String version) {
    super("HTTP version not supported: " + version);
  }
}
