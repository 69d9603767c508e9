package io.muxgate.forward;

import io.netty.handler.codec.DecoderException;

/**
 * The decoder result of an HTTP/1.x request whose line Netty could not read (too long, not HTTP), around
 * the decoder's own cause. The request Vert.x hands up for it is Netty's stand-in, {@code GET /bad-request}:
 * {@link Forwarder#handleInvalid} logs no method or path for it, as none was read.
 */
public final class UnreadRequestLine extends DecoderException {

  public UnreadRequestLine(Throwable cause) {
    super(cause);
  }
}
