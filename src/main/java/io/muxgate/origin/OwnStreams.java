package io.muxgate.origin;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameListener;
import io.netty.handler.codec.http2.Http2FrameListenerDecorator;
import io.netty.handler.codec.http2.Http2FrameReader;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2LifecycleManager;
import io.netty.handler.codec.http2.Http2Stream;

import java.util.ArrayList;
import java.util.List;

/**
 * Closes the frame streams a connection carries for us (origin side or client side) before Vert.x hears
 * of the connection's end: Vert.x 5.0.10, failing its own streams on a connection error, takes every
 * active stream for one of its own and throws at the first that is not; with ours closed first it finds
 * only its own. Two moments: the channel's close, before the channel fails the writes it still holds
 * (the codec reports each failed write as a connection error; that happens whenever the peer resets the
 * connection while the socket is full: a client that vanishes mid-download, an origin that dies
 * mid-upload), and any connection error the codec meets ({@link #closeBeforeConnectionErrors}).
 */
public final class OwnStreams {

  private OwnStreams() {
  }

  /** Streams of {@code connection} carrying {@code key} are closed when {@code channel} closes. */
  public static void closeWithChannel(Channel channel, Http2Connection connection, Http2Connection.PropertyKey key) {
    // The close future completes inside the channel's close, before its unwritten writes are failed
    // and long before the pipeline hears of it (channelInactive).
    channel.closeFuture().addListener(closed -> close(connection, key));
  }

  /**
   * Closes the streams carrying {@code key} as soon as the codec meets a connection error, before it
   * reports the error to Vert.x, so that Vert.x's handling goes through and the codec's GOAWAY leaves
   * with the error's own code: ENHANCE_YOUR_CALM for a flood of resets or of empty DATA frames,
   * FRAME_SIZE_ERROR for a frame over the size we allow, COMPRESSION_ERROR for an undecodable header
   * block, FLOW_CONTROL_ERROR, where Vert.x's NullPointerException would otherwise leave only
   * {@link GoAwayOnClose}'s PROTOCOL_ERROR. Errors met reading are caught around the frame listener,
   * outside Netty's flood counters, and around the codec's frame reader; errors met writing (a flood of
   * resets the peer provokes) in the encoder's lifecycle manager.
   */
  public static void closeBeforeConnectionErrors(Http2ConnectionHandler handler, Http2Connection.PropertyKey key) {
    Http2Connection connection = handler.connection();
    Runnable closeOurs = () -> close(connection, key);
    Http2ConnectionDecoder codecDecoder = ConnectionInternals.innermost(handler.decoder());
    if (codecDecoder != null) {
      codecDecoder.frameListener(new ReadErrors(codecDecoder.frameListener(), closeOurs));
      ConnectionInternals.wrapFrameReader(codecDecoder, reader -> reader instanceof ReaderErrors early
        ? early.closing(closeOurs) : new ReaderErrors(reader, closeOurs));
    }
    handler.encoder().lifecycleManager(new WriteErrors(handler, closeOurs));
  }

  /**
   * Puts {@link ReaderErrors} around {@code handler}'s frame reader before the codec reads a byte, for a
   * connection whose streams {@link #closeBeforeConnectionErrors} is yet to be called for: that call comes
   * while the reader reads the peer's SETTINGS, and a reader swapped then sees only the next read's frames,
   * not the frames behind the SETTINGS in the same read (a client's first burst).
   */
  public static void closeBeforeFirstReadErrors(Http2ConnectionHandler handler) {
    Http2ConnectionDecoder codecDecoder = ConnectionInternals.innermost(handler.decoder());
    if (codecDecoder != null) {
      ConnectionInternals.wrapFrameReader(codecDecoder, reader -> new ReaderErrors(reader, () -> { }));
    }
  }

  /** Closes our streams ({@code closeOurs}) if the codec takes {@code cause} for an error of the whole connection. */
  private static void closeIfConnectionError(Throwable cause, Runnable closeOurs) {
    if (connectionError(cause)) {
      closeOurs.run();
    }
  }

  /** Whether the codec takes {@code cause} for an error of the whole connection. */
  private static boolean connectionError(Throwable cause) {
    Http2Exception embedded = Http2CodecUtil.getEmbeddedHttp2Exception(cause);
    return !(embedded instanceof Http2Exception.StreamException)
      && !(embedded instanceof Http2Exception.CompositeStreamException);
  }

  /** Around the whole listener chain: the frames whose handling can fail the connection. */
  private static final class ReadErrors extends Http2FrameListenerDecorator {

    private final Runnable closeOurs;

    ReadErrors(Http2FrameListener listener, Runnable closeOurs) {
      super(listener);
      this.closeOurs = closeOurs;
    }

    @Override
    public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean end)
      throws Http2Exception {
      try {
        return super.onDataRead(ctx, streamId, data, padding, end);
      } catch (Throwable t) {
        closeIfConnectionError(t, closeOurs);
        throw t;
      }
    }

    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
                              boolean end) throws Http2Exception {
      try {
        super.onHeadersRead(ctx, streamId, headers, padding, end);
      } catch (Throwable t) {
        closeIfConnectionError(t, closeOurs);
        throw t;
      }
    }

    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int dependency,
                              short weight, boolean exclusive, int padding, boolean end) throws Http2Exception {
      try {
        super.onHeadersRead(ctx, streamId, headers, dependency, weight, exclusive, padding, end);
      } catch (Throwable t) {
        closeIfConnectionError(t, closeOurs);
        throw t;
      }
    }

    @Override
    public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) throws Http2Exception {
      try {
        super.onRstStreamRead(ctx, streamId, errorCode);
      } catch (Throwable t) {
        closeIfConnectionError(t, closeOurs);
        throw t;
      }
    }
  }

  /**
   * Around the codec's frame reader, for errors Netty's own checks of a frame find before any listener
   * hears of it. Installed while the reader reads the SETTINGS that made us take the connection over, it
   * sees the frames from the next read on, unless {@link #closeBeforeFirstReadErrors} put it there
   * before; {@link ReadErrors} covers the listeners from the first.
   */
  private static final class ReaderErrors extends ForwardingFrameReader {

    private Runnable closeOurs;

    ReaderErrors(Http2FrameReader reader, Runnable closeOurs) {
      super(reader);
      this.closeOurs = closeOurs;
    }

    /** From now on closes {@code closeOurs}'s streams; itself, to stay the codec's reader. */
    ReaderErrors closing(Runnable closeOurs) {
      this.closeOurs = closeOurs;
      return this;
    }

    @Override
    public void readFrame(ChannelHandlerContext ctx, ByteBuf input, Http2FrameListener listener) throws Http2Exception {
      try {
        reader.readFrame(ctx, input, listener);
      } catch (Throwable t) {
        closeIfConnectionError(t, closeOurs);
        throw t;
      }
    }
  }

  /** The codec's lifecycle manager for its encoder, closing our streams before a connection error. */
  private static final class WriteErrors extends ForwardingLifecycleManager {

    private final Runnable closeOurs;

    WriteErrors(Http2LifecycleManager codec, Runnable closeOurs) {
      super(codec);
      this.closeOurs = closeOurs;
    }

    @Override
    public void onError(ChannelHandlerContext ctx, boolean outbound, Throwable cause) {
      closeIfConnectionError(cause, closeOurs);
      codec.onError(ctx, outbound, cause);
    }
  }

  private static void close(Http2Connection connection, Http2Connection.PropertyKey key) {
    List<Http2Stream> ours = new ArrayList<>();
    try {
      connection.forEachActiveStream(stream -> {
        if (stream.getProperty(key) != null) {
          // Marked reset, all of them before any closes, so that no RST_STREAM is written for them to the
          // closing channel — neither when a stream's queued DATA is cancelled nor by an exchange that one
          // stream's close ends: that write would fail, and be reported to Vert.x as a connection error in turn.
          stream.resetSent();
          ours.add(stream);
        }
        return true;
      });
    } catch (Http2Exception e) {
      return;
    }
    for (Http2Stream stream : ours) {
      stream.close();
    }
  }
}
