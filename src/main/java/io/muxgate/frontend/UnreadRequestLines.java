package io.muxgate.frontend;

import io.muxgate.forward.UnreadRequestLine;
import io.muxgate.forward.UnsupportedHttpVersion;
import io.muxgate.origin.HeapBodies;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.net.impl.ConnectionBase;

/**
 * Makes the proxy's refusal of an HTTP/1.x request whose line Netty could not read (too long, not HTTP)
 * an HTTP/1.1 answer. Netty hands such a request up as a stand-in, a full {@code GET /bad-request HTTP/1.0},
 * and Vert.x answers in the request's version; its cause is wrapped in an {@link UnreadRequestLine}, so
 * that the stand-in's method and path are not logged as the client's. A request whose line was read and
 * that failed later (its header block, its Transfer-Encoding) is the request itself, cut short: it keeps
 * its version. A request
 * line naming a version Vert.x does not know is sorted out here too ({@link #checkVersion}), and an HTTP/1.0
 * request's answer gets an HTTP/1.1 status line ({@link Http11StatusLines}).
 */
@ChannelHandler.Sharable
final class UnreadRequestLines extends ChannelInboundHandlerAdapter {

  /**
   * The name of Vert.x's connection handler in a client connection's pipeline. Just before it, not just
   * after the decoder: on a cleartext connection Vert.x sets up HTTP/1.x (and calls the connection handler)
   * while its h2c upgrade handler, after the decoder, holds the first request.
   */
  private static final String VERTX = "handler";
  /** Vert.x's HTTP/1.x request decoder: there on a connection that speaks HTTP/1.x. */
  private static final String DECODER = "httpDecoder";
  private static final UnreadRequestLines INSTANCE = new UnreadRequestLines();

  private UnreadRequestLines() {
  }

  /**
   * Watches a Vert.x server connection that speaks HTTP/1.x, and has its request bodies handed on as
   * {@link HeapBodies}; a no-op for HTTP/2 or a hidden channel.
   */
  static void install(HttpConnection connection) {
    Channel channel = connection instanceof ConnectionBase base ? base.channel() : null;
    if (channel != null && channel.pipeline().get(DECODER) != null && channel.pipeline().get(VERTX) != null) {
      channel.pipeline().addBefore(VERTX, "muxgateUnreadRequestLines", INSTANCE);
      // Request bodies reach Vert.x as heap copies: it drops a paused connection's held parts unreleased.
      HeapBodies.install(channel, VERTX);
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof FullHttpRequest request && request.decoderResult().isFailure()) {
      request.setProtocolVersion(HttpVersion.HTTP_1_1);
      request.setDecoderResult(DecoderResult.failure(new UnreadRequestLine(request.decoderResult().cause())));
    } else if (msg instanceof HttpRequest request) {
      if (request.decoderResult().isSuccess()) {
        checkVersion(request);
      } else {
        CutHeaderBlocks.keepHeldHost(ctx.pipeline().get(DECODER), request);
      }
      if (request.protocolVersion() == HttpVersion.HTTP_1_0) {
        Http11StatusLines.installAfter(ctx);
      }
    }
    ctx.fireChannelRead(msg);
  }

  /**
   * A request line Netty read but whose version Vert.x does not know: it would answer 501 with that
   * version in its status line ("HTTP/2.0 501"). A later HTTP/1 minor version is served as HTTP/1.1 (RFC
   * 9110, section 2.5); another major version is refused with 505 by the proxy, in HTTP/1.1.
   */
  private static void checkVersion(HttpRequest request) {
    HttpVersion version = request.protocolVersion();
    if (version == HttpVersion.HTTP_1_1 || version == HttpVersion.HTTP_1_0) {
      return;
    }
    request.setProtocolVersion(HttpVersion.HTTP_1_1);
    if (version.majorVersion() != 1) {
      request.setDecoderResult(DecoderResult.failure(new UnsupportedHttpVersion(version.text())));
    }
  }
}
