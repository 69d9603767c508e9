package io.muxgate.origin;

import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.internal.http.HttpHeadersInternal;

/**
 * Reads an HTTP/1.1 origin's response that repeats its Content-Length with one value ({@code 5, 5}, or two
 * lines alike) as having that length, as RFC 9110, section 8.6 allows and HAProxy does, and as the proxy
 * already read an HTTP/2 origin's (Netty's HTTP/2 codec merges them): Vert.x builds its HTTP/1.1 client
 * codec without Netty's switch for it, so the same response from an HTTP/1.1 origin was a 520. Values that
 * differ stay invalid (520). The codec of a connection that has carried nothing yet is swapped for one
 * built as Vert.x builds it, with the switch on.
 */
final class IdenticalContentLengths {

  /** The name of Vert.x's HTTP/1.x client codec in an origin connection's pipeline. */
  private static final String CODEC = "codec";
  /** Vert.x's settings for the codec, from the options {@link OriginClients#options} gives every client. */
  private static final HttpDecoderConfig CONFIG = new HttpDecoderConfig()
    .setMaxInitialLineLength(HttpClientOptions.DEFAULT_MAX_INITIAL_LINE_LENGTH)
    .setMaxHeaderSize(OriginClients.MAX_HEADER_BYTES)
    .setMaxChunkSize(HttpClientOptions.DEFAULT_MAX_CHUNK_SIZE)
    .setValidateHeaders(!HttpHeadersInternal.DISABLE_HTTP_HEADERS_VALIDATION)
    .setInitialBufferSize(HttpClientOptions.DEFAULT_DECODER_INITIAL_BUFFER_SIZE)
    .setAllowDuplicateContentLengths(true);

  private IdenticalContentLengths() {
  }

  /** Called as a new HTTP/1.1 connection joins its pool, before any request and before handlers that find the codec. */
  static void accept(Channel channel) {
    if (channel != null && channel.pipeline().get(CODEC) instanceof HttpClientCodec) {
      channel.pipeline().replace(CODEC, CODEC, new HttpClientCodec(CONFIG, false, false));
    }
  }
}
