package io.muxgate.origin;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http2.DecoratingHttp2FrameWriter;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2FrameWriter;
import io.netty.handler.codec.http2.Http2Stream;

/**
 * Around the frame writer of an origin connection's HTTP/2 codec, for the frames that end a stream or the
 * connection, whoever sends them (Muxgate's frame streams, Vert.x's streams and close, the codec after an
 * error, {@link GoAwayOnClose}); on a client connection, for RST_STREAM only ({@link #installOnClient}).
 * <ul>
 *   <li>RST_STREAM closes its stream as it is written, which drops the DATA Netty's flow controller still
 *   holds for it. Netty keeps a reset stream open until its RST_STREAM has left for the socket, and
 *   meanwhile goes on writing the stream's queued DATA as the socket takes more, behind the reset: an upload
 *   cancelled while its origin read slowly was followed by DATA frames on its stream after its RST_STREAM,
 *   which RFC 9113 section 5.1 forbids (a closed stream sends nothing more).</li>
 *   <li>GOAWAY names last-stream-id 0. Its last-stream-id is the highest stream the <em>peer</em> opened
 *   that the sender may act on (section 6.8), and an origin opens none here (server push is off). Netty
 *   names 2^31-1 in the GOAWAY it sends after a connection error, a server's choice; nghttp2 (Node's
 *   origins) takes that from a client for a protocol error of its own and reports -505 in place of the
 *   error code the proxy sent.</li>
 * </ul>
 */
public final class EndingFrames extends DecoratingHttp2FrameWriter {

  private final Http2Connection connection;
  /** Whether GOAWAY's last-stream-id is fitted: an origin connection's only. */
  private final boolean origin;

  private EndingFrames(Http2FrameWriter writer, Http2Connection connection, boolean origin) {
    super(writer);
    this.connection = connection;
    this.origin = origin;
  }

  /** Installs it on {@code codec}, an origin connection's; call on its event loop. */
  static void install(Http2ConnectionHandler codec) {
    ConnectionInternals.wrapFrameWriter(codec.encoder(), writer -> new EndingFrames(writer, codec.connection(), true));
  }

  /**
   * Installs its RST_STREAM part on {@code codec}, a client connection's, where a response cut while the
   * client's socket was full had its queued DATA written behind its reset alike. GOAWAY is left as the codec
   * writes it: as the server there, the proxy names the client's streams in it. Call on its event loop.
   */
  public static void installOnClient(Http2ConnectionHandler codec) {
    ConnectionInternals.wrapFrameWriter(codec.encoder(), writer -> new EndingFrames(writer, codec.connection(), false));
  }

  @Override
  public ChannelFuture writeRstStream(ChannelHandlerContext ctx, int streamId, long errorCode, ChannelPromise promise) {
    ChannelFuture written = super.writeRstStream(ctx, streamId, errorCode, promise);
    Http2Stream stream = connection.stream(streamId);
    // Marked by the codec before it writes a reset. The queued DATA's writes fail as the stream closes, and
    // the codec, finding the stream marked, answers those failures with no reset of their own.
    if (stream != null && stream.isResetSent()) {
      stream.close();
    }
    return written;
  }

  @Override
  public ChannelFuture writeGoAway(ChannelHandlerContext ctx, int lastStreamId, long errorCode, ByteBuf debugData,
                                   ChannelPromise promise) {
    if (!origin) {
      return super.writeGoAway(ctx, lastStreamId, errorCode, debugData, promise);
    }
    int originsLast = connection.remote().lastStreamCreated();
    return super.writeGoAway(ctx, Math.min(lastStreamId, originsLast), errorCode, debugData, promise);
  }
}
