package io.muxgate.frontend;

import io.muxgate.origin.OwnStreams;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.vertx.core.http.impl.Http1xOrH2CHandler;

/**
 * Lets a malformed frame in a client's first burst (preface, SETTINGS, a HEADERS, then a frame over
 * SETTINGS_MAX_FRAME_SIZE, a DATA on stream 0, an undecodable header block, all in one write) end the
 * connection with GOAWAY and the error's own code, as it does later on (RFC 9113, section 5.4.1). The
 * front end takes an HTTP/2 connection over while the codec reads the client's SETTINGS, and the stream
 * that HEADERS opens is then its own: the codec's frame reader must already report connection errors
 * to {@link OwnStreams} when it reads the frames behind that SETTINGS, or Vert.x throws on that stream
 * and the client got a bare close, the GOAWAY never sent.
 *
 * <p>Over TLS the codec is in place when the server shows the channel (after the handshake, before the
 * bytes behind it); on the cleartext port only once Vert.x's preface check has seen the HTTP/2 preface,
 * so this waits just after that check for the first bytes it hands on, and leaves.
 */
@ChannelHandler.Sharable
final class FirstBurstErrors extends ChannelInboundHandlerAdapter {

  private static final String NAME = "muxgateFirstBurstErrors";
  private static final FirstBurstErrors INSTANCE = new FirstBurstErrors();

  private FirstBurstErrors() {
  }

  /** On a client channel Vert.x has just set up, before its first HTTP/2 frame is read. */
  static void install(Channel channel) {
    ChannelPipeline pipeline = channel.pipeline();
    Http2ConnectionHandler codec = pipeline.get(Http2ConnectionHandler.class);
    ChannelHandlerContext preface = codec == null ? pipeline.context(Http1xOrH2CHandler.class) : null;
    if (codec != null) {
      OwnStreams.closeBeforeFirstReadErrors(codec);
    } else if (preface != null) {
      pipeline.addAfter(preface.name(), NAME, INSTANCE);
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    Http2ConnectionHandler codec = ctx.pipeline().get(Http2ConnectionHandler.class);
    if (codec != null) {
      OwnStreams.closeBeforeFirstReadErrors(codec);
    }
    ctx.pipeline().remove(this);
    ctx.fireChannelRead(msg);
  }
}
