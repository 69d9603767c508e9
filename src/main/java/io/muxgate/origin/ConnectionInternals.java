package io.muxgate.origin;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.CombinedChannelDuplexHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http2.DecoratingHttp2ConnectionDecoder;
import io.netty.handler.codec.http2.DecoratingHttp2ConnectionEncoder;
import io.netty.handler.codec.http2.DefaultHttp2ConnectionDecoder;
import io.netty.handler.codec.http2.DefaultHttp2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2FrameReader;
import io.netty.handler.codec.http2.Http2FrameWriter;
import io.vertx.core.buffer.impl.BufferImpl;
import io.vertx.core.http.GoAway;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientConnection;
import io.vertx.core.http.impl.CleanableHttpClient;
import io.vertx.core.http.impl.HttpClientBase;
import io.vertx.core.http.impl.HttpClientConnectionInternal;
import io.vertx.core.http.impl.UnpooledHttpClientConnection;
import io.vertx.core.internal.logging.Logger;
import io.vertx.core.internal.logging.LoggerFactory;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.function.UnaryOperator;

/**
 * The one place Muxgate reaches under Vert.x 5.0's public API, for three things it does not expose: the
 * Netty channel of a connection from {@code HttpClient.connect()} (to set TCP keep-alive timing), Netty's
 * HTTP/2 connection state (for the latest GOAWAY's last-stream-id: Vert.x reports only the first GOAWAY,
 * and an origin that drains in two steps sends a second, lower one), and the sockets a client has open
 * ({@link AbandonedSetups} closes those a connect still sets up after its deadline). The connection
 * wraps the internal one in a private field; if reading it ever fails, all three degrade (no keep-alive
 * timing, first GOAWAY only, unready sockets left to the pool's close) and one line is logged.
 * Its impl class also gives the buffer under a GOAWAY's debug data, which Vert.x leaves to be released
 * ({@link #release}).
 *
 * <p>Under Netty's public API too, for three things: how many bytes an HTTP/1.x codec holds undecoded
 * ({@link SurplusBytes} must know whether an origin sent more than its response), the HTTP/2 codec's
 * frame reader under the decoders that count floods ({@link OwnStreams} must see a connection error, a
 * flood's or a malformed frame's, before Vert.x does), and its frame writer under every encoder
 * ({@link EndingFrames} must see each RST_STREAM written to an origin or a client, and each GOAWAY written to an
 * origin). If the first is out of
 * reach, HTTP/1.1 origin connections are each used for one request only; if the second, a flood's GOAWAY
 * says PROTOCOL_ERROR rather than its own code; if the third, a stream's queued DATA may follow
 * its reset and a GOAWAY after a connection error names last-stream-id 2^31-1; each way one line is logged.
 */
final class ConnectionInternals {

  private static final Logger log = LoggerFactory.getLogger(ConnectionInternals.class);
  private static final Field ACTUAL = field(UnpooledHttpClientConnection.class, "actual",
    "origin sockets keep the kernel's keep-alive timing, only an origin's first GOAWAY is seen, and HTTP/1.1 "
      + "origin connections are not guarded against bytes past a response");
  private static final Method CODEC_DECODER = codecMethod(CombinedChannelDuplexHandler.class, "inboundHandler");
  private static final Method UNDECODED = codecMethod(ByteToMessageDecoder.class, "actualReadableBytes");
  /** Public, in a class that is not: the client's open sockets, which Vert.x closes with the client. */
  private static final Field CHANNEL_GROUP = field("io.vertx.core.net.impl.NetClientImpl", "channelGroup",
    "sockets to an origin that is not ready within the setup deadline stay open until the pool closes");
  private static final String READER_OUT_OF_REACH =
    "a connection error while Muxgate's streams are open ends with GOAWAY(PROTOCOL_ERROR) instead of its own code";
  private static final Field DECORATED = field(DecoratingHttp2ConnectionDecoder.class, "delegate", READER_OUT_OF_REACH);
  /** Final, set once more here: the codec offers no other way in ahead of its own checks of a frame. */
  private static final Field FRAME_READER = field(DefaultHttp2ConnectionDecoder.class, "frameReader", READER_OUT_OF_REACH);
  private static final String WRITER_OUT_OF_REACH = "a stream's queued DATA may follow its RST_STREAM, and a "
    + "GOAWAY after a connection error names last-stream-id 2^31-1";
  private static final Field ENCODER_DECORATED = field(DecoratingHttp2ConnectionEncoder.class, "delegate",
    WRITER_OUT_OF_REACH);
  /** Final, set once more here, as {@link #FRAME_READER}: the one way in under everything the codec writes. */
  private static final Field FRAME_WRITER = field(DefaultHttp2ConnectionEncoder.class, "frameWriter",
    WRITER_OUT_OF_REACH);

  private ConnectionInternals() {
  }

  /**
   * Lets go of the debug data of a GOAWAY Vert.x handed a connection's GOAWAY handler: Vert.x 5.0.10 copies
   * it for the handler into a buffer from the pool the connection reads with (direct memory) and never
   * releases that copy, which no one else holds. Without this, every origin GOAWAY kept a pooled piece
   * (16 bytes at least, the debug data's length beyond) for good.
   */
  static void release(GoAway goAway) {
    if (goAway.getDebugData() instanceof BufferImpl copy) {
      copy.byteBuf().release();
    }
  }

  /** The Netty channel under a connection from {@code HttpClient.connect()}, or null. */
  static Channel channelOf(HttpClientConnection connection) {
    if (ACTUAL == null || !(connection instanceof UnpooledHttpClientConnection)) {
      return null;
    }
    try {
      Object actual = ACTUAL.get(connection);
      return actual instanceof HttpClientConnectionInternal internal
        ? internal.channelHandlerContext().channel() : null;
    } catch (IllegalAccessException | RuntimeException e) {
      return null;
    }
  }

  /**
   * The sockets {@code client} has open, from the end of their TCP connect (and TLS handshake) until
   * they close: Vert.x's own group of them, live. Null when out of reach, or when {@link #channelOf}
   * is, without which a socket set up for a connection could not be told from one still being set up.
   */
  static ChannelGroup channelsOf(HttpClientAgent client) {
    Object impl = client instanceof CleanableHttpClient cleanable ? cleanable.delegate : client;
    if (ACTUAL == null || CHANNEL_GROUP == null || !(impl instanceof HttpClientBase base)) {
      return null;
    }
    try {
      return CHANNEL_GROUP.get(base.netClient()) instanceof ChannelGroup open ? open : null;
    } catch (IllegalAccessException | RuntimeException e) {
      return null;
    }
  }

  /** Netty's HTTP/2 connection state under {@code channel}, or null for HTTP/1.1 or when unreachable. */
  static Http2Connection http2Of(Channel channel) {
    Http2ConnectionHandler handler = http2CodecOf(channel);
    return handler == null ? null : handler.connection();
  }

  /** The HTTP/2 codec in {@code channel}'s pipeline, where Vert.x 5.0 puts it; null for HTTP/1.1 or none. */
  static Http2ConnectionHandler http2CodecOf(Channel channel) {
    return channel == null ? null : channel.pipeline().get(Http2ConnectionHandler.class);
  }

  /**
   * Frame-level streams on {@code channel}'s HTTP/2 codec, or null when switched off, unreachable, or
   * not called on the channel's loop (the frame listener may only be changed from there).
   */
  static FrameStreams frameStreamsOf(Channel channel) {
    if (!FrameStreams.ENABLED || channel == null || !channel.eventLoop().inEventLoop()) {
      return null;
    }
    try {
      return FrameStreams.install(channel);
    } catch (RuntimeException e) {
      log.warn("HTTP/2 codec of an origin connection out of reach (" + e + "): its streams go through Vert.x");
      return null;
    }
  }

  /** The byte decoder inside {@code codec}, an HTTP/1.x client codec; null if it cannot be reached. */
  static ByteToMessageDecoder decoderOf(ChannelHandler codec) {
    if (CODEC_DECODER == null || UNDECODED == null || !(codec instanceof CombinedChannelDuplexHandler<?, ?>)) {
      return null;
    }
    try {
      return CODEC_DECODER.invoke(codec) instanceof ByteToMessageDecoder decoder ? decoder : null;
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }

  /** The bytes {@code decoder} (from {@link #decoderOf}) has received and not decoded yet; -1 if unknown. */
  static int undecodedBytes(ByteToMessageDecoder decoder) {
    if (decoder == null) {
      return -1;
    }
    try {
      return (int) UNDECODED.invoke(decoder);
    } catch (ReflectiveOperationException | RuntimeException e) {
      return -1;
    }
  }

  private static Method codecMethod(Class<?> owner, String name) {
    try {
      Method method = owner.getDeclaredMethod(name);
      method.setAccessible(true);
      return method;
    } catch (ReflectiveOperationException | RuntimeException e) {
      log.warn("Netty codec internals unavailable (" + e + "): HTTP/1.1 origin connections are not reused");
      return null;
    }
  }

  /** Puts {@code wrap} of the frame reader of {@code decoder}, the codec's own, in its place, if in reach. */
  static void wrapFrameReader(Http2ConnectionDecoder decoder, UnaryOperator<Http2FrameReader> wrap) {
    if (FRAME_READER != null && decoder instanceof DefaultHttp2ConnectionDecoder codecDecoder) {
      try {
        FRAME_READER.set(codecDecoder, wrap.apply((Http2FrameReader) FRAME_READER.get(codecDecoder)));
      } catch (IllegalAccessException | RuntimeException e) {
        log.warn("HTTP/2 frame reader out of reach (" + e + "): " + READER_OUT_OF_REACH);
      }
    }
  }

  /** Puts {@code wrap} of the frame writer of {@code encoder}'s innermost encoder in its place, if in reach. */
  static void wrapFrameWriter(Http2ConnectionEncoder encoder, UnaryOperator<Http2FrameWriter> wrap) {
    if (ENCODER_DECORATED == null || FRAME_WRITER == null) {
      return;
    }
    try {
      while (encoder instanceof DecoratingHttp2ConnectionEncoder) {
        encoder = (Http2ConnectionEncoder) ENCODER_DECORATED.get(encoder);
      }
      if (encoder instanceof DefaultHttp2ConnectionEncoder codecEncoder) {
        FRAME_WRITER.set(codecEncoder, wrap.apply((Http2FrameWriter) FRAME_WRITER.get(codecEncoder)));
      }
    } catch (IllegalAccessException | RuntimeException e) {
      log.warn("HTTP/2 frame writer out of reach (" + e + "): " + WRITER_OUT_OF_REACH);
    }
  }

  /** The decoder {@code decoder} decorates, down to the codec's own; null if out of reach. */
  static Http2ConnectionDecoder innermost(Http2ConnectionDecoder decoder) {
    if (DECORATED == null) {
      return null;
    }
    try {
      while (decoder instanceof DecoratingHttp2ConnectionDecoder) {
        decoder = (Http2ConnectionDecoder) DECORATED.get(decoder);
      }
      return decoder;
    } catch (IllegalAccessException | RuntimeException e) {
      return null;
    }
  }

  /** {@link #field(Class, String, String)} of the class named {@code owner}. */
  private static Field field(String owner, String name, String without) {
    try {
      return field(Class.forName(owner), name, without);
    } catch (ClassNotFoundException | LinkageError e) {
      log.warn(owner + " unavailable (" + e + "): " + without);
      return null;
    }
  }

  /** {@code owner}'s field {@code name}, made accessible; else null, and one line saying {@code without}. */
  private static Field field(Class<?> owner, String name, String without) {
    try {
      Field field = owner.getDeclaredField(name);
      field.setAccessible(true);
      return field;
    } catch (ReflectiveOperationException | RuntimeException e) {
      log.warn(owner.getSimpleName() + "." + name + " unavailable (" + e + "): " + without);
      return null;
    }
  }
}
