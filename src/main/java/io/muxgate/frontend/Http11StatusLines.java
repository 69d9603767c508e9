package io.muxgate.frontend;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;

/**
 * Answers an HTTP/1.0 request with an HTTP/1.1 status line, as HAProxy, nginx and Apache do: a server
 * answers in the highest version it conforms to under the request's major version, and an intermediary
 * sends its own version in what it forwards (RFC 9110, section 6.2). Vert.x answers in the request's
 * version; the response keeps what Vert.x chose for an HTTP/1.0 client (a length or the close ends the
 * body, keep-alive only when asked for, and then said). An HTTP/1.1 status line without a Connection
 * header tells a client the connection persists (RFC 9112, section 9.3), so one that will not says close.
 */
@ChannelHandler.Sharable
final class Http11StatusLines extends ChannelOutboundHandlerAdapter {

  private static final String NAME = "muxgateHttp11StatusLines";
  private static final Http11StatusLines INSTANCE = new Http11StatusLines();

  private Http11StatusLines() {
  }

  /**
   * Adds the rewrite after {@code ctx}, on the way of Vert.x's writes, at a connection's first HTTP/1.0
   * request: an HTTP/1.1 connection's writes do not pass through it.
   */
  static void installAfter(ChannelHandlerContext ctx) {
    if (ctx.pipeline().get(NAME) == null) {
      ctx.pipeline().addAfter(ctx.name(), NAME, INSTANCE);
    }
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (msg instanceof HttpResponse response && response.protocolVersion() == HttpVersion.HTTP_1_0) {
      response.setProtocolVersion(HttpVersion.HTTP_1_1);
      if (!response.headers().contains(HttpHeaderNames.CONNECTION)) {
        response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      }
    }
    ctx.write(msg, promise);
  }
}
