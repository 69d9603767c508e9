package io.muxgate.origin;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameListener;
import io.netty.handler.codec.http2.Http2FrameListenerDecorator;
import io.netty.handler.codec.http2.Http2FrameReader;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Stream;

/**
 * Ignores the DATA and HEADERS a peer sent on a stream before it read the proxy's RST_STREAM, as RFC 9113
 * section 5.1 asks, the DATA still counted in the connection's window and given back at once. Netty
 * forgets a stream once its reset is written and takes such a frame for one on an unknown stream: it
 * answers each with RST_STREAM(STREAM_CLOSED). An origin streaming a large body has many frames in flight
 * (up to a stream window's worth): 90 downloads from a Vert.x origin cancelled at once made 8,541 resets.
 * With 10,000 of them queued unwritten (an origin slow to read) Netty's codec takes them for a flood and
 * ends the connection as a protocol error, with every other stream on it (invalid_response). A client
 * still uploading when its response is cut (an origin failing after its head, a 413 past it, a client too
 * slow) has up to its stream window in flight too, and its connection ends sooner: Vert.x's server sends
 * 200 resets in 30 s, then GOAWAY(ENHANCE_YOUR_CALM): four such uploads with a 1 MiB window in flight each
 * drew 197 to 226 resets beside their own 4, then that GOAWAY. ({@code frontend.ResetFence} keeps a stream
 * open instead where the response is whole, and nothing of it waits in Netty's flow control.)
 *
 * <p>Remembers the ids of the last {@link #REMEMBERED} streams reset on the connection, by Muxgate's frame
 * streams, by Vert.x's or by the codec itself; later resets push out the oldest, and a frame for a stream
 * forgotten meets Netty's answer again (the RFC lets an endpoint limit how long it ignores them).
 */
public final class LateFrames {

  /**
   * More than the streams one connection may carry (origin_h2_max_streams is at most 1,000, a client
   * connection 128).
   */
  static final int REMEMBERED = 1024;

  private final Http2Connection connection;
  private final Http2ConnectionDecoder decoder;
  /**
   * Ids of streams reset, a ring: {@link #next} is where the next one goes. Made at the first reset: most
   * client connections never see one, and there may be many thousands of them.
   */
  private int[] reset;
  private int next;
  private int count;

  private LateFrames(Http2Connection connection, Http2ConnectionDecoder decoder) {
    this.connection = connection;
    this.decoder = decoder;
  }

  /** Installs it on {@code handler}'s connection; call on its event loop, before any stream is reset. */
  public static void install(Http2ConnectionHandler handler) {
    Http2ConnectionDecoder codecDecoder = ConnectionInternals.innermost(handler.decoder());
    if (codecDecoder == null) {
      return;
    }
    LateFrames late = new LateFrames(handler.connection(), handler.decoder());
    handler.connection().addListener(new Http2ConnectionAdapter() {
      @Override
      public void onStreamClosed(Http2Stream stream) {
        if (stream.isResetSent()) {
          late.remember(stream.id());
        }
      }
    });
    ConnectionInternals.wrapFrameReader(codecDecoder, reader -> late.new Reader(reader));
  }

  private void remember(int streamId) {
    if (reset == null) {
      reset = new int[REMEMBERED];
    }
    reset[next] = streamId;
    next = (next + 1) % REMEMBERED;
    count = Math.min(count + 1, REMEMBERED);
  }

  /** Whether a frame for {@code streamId} comes after the proxy reset the stream and Netty forgot it. */
  private boolean late(int streamId) {
    // A new stream's HEADERS (an id above the last its peer opened) needs no search of the ring.
    if (count == 0 || !connection.streamMayHaveExisted(streamId) || connection.stream(streamId) != null) {
      return false;
    }
    // Newest first: a late frame follows its stream's reset by about a round trip.
    for (int i = 1; i <= count; i++) {
      if (reset[(next - i + REMEMBERED) % REMEMBERED] == streamId) {
        return true;
      }
    }
    return false;
  }

  /**
   * Around the codec's frame reader: the frames it reads pass through {@link Filter} before the codec's
   * own handling, which would answer a late one with a reset.
   */
  private final class Reader extends ForwardingFrameReader {

    /** The codec hands its reader one listener until the preface is read, then another for good. */
    private Http2FrameListener codecListener;
    private Filter filter;

    Reader(Http2FrameReader reader) {
      super(reader);
    }

    @Override
    public void readFrame(ChannelHandlerContext ctx, ByteBuf input, Http2FrameListener listener) throws Http2Exception {
      if (listener != codecListener) {
        codecListener = listener;
        filter = new Filter(listener);
      }
      reader.readFrame(ctx, input, filter);
    }
  }

  /** Drops late frames; RST_STREAM, WINDOW_UPDATE and PRIORITY for a forgotten stream Netty ignores itself. */
  private final class Filter extends Http2FrameListenerDecorator {

    Filter(Http2FrameListener codec) {
      super(codec);
    }

    @Override
    public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean end)
      throws Http2Exception {
      if (!late(streamId)) {
        return super.onDataRead(ctx, streamId, data, padding, end);
      }
      // Without a stream the flow controller counts the bytes against the connection's window and gives
      // them back at once, as Netty does for DATA it ignores.
      decoder.flowController().receiveFlowControlledFrame(null, data, padding, end);
      return data.readableBytes() + padding;
    }

    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding, boolean end)
      throws Http2Exception {
      // The reader has decoded the header block already: the connection's HPACK state stays in step.
      if (!late(streamId)) {
        super.onHeadersRead(ctx, streamId, headers, padding, end);
      }
    }

    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int dependency,
                              short weight, boolean exclusive, int padding, boolean end) throws Http2Exception {
      if (!late(streamId)) {
        super.onHeadersRead(ctx, streamId, headers, dependency, weight, exclusive, padding, end);
      }
    }
  }
}
