package io.muxgate.origin;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;

/**
 * Spots, on an HTTP/1.x origin connection, the response after which the origin closes it: one with
 * {@code Connection: close}, or an HTTP/1.0 one without keep-alive (Python's http.server and other
 * HTTP/1.0 servers close after every response without saying so). The pool must stop handing the
 * connection out at once: until Vert.x sees the close, a request given it would fail unsent. Vert.x
 * reports such a response as HTTP/1.1, so this looks at the decoded response itself.
 */
final class ClosingResponses extends ChannelInboundHandlerAdapter {

  /** The name of Vert.x's HTTP/1.x client codec in an origin connection's pipeline. */
  private static final String CODEC = "codec";

  private final Runnable closing;

  private ClosingResponses(Runnable closing) {
    this.closing = closing;
  }

  /** Runs {@code closing} on {@code channel}'s loop for each response that ends the connection. */
  static void watch(Channel channel, Runnable closing) {
    if (channel != null && channel.pipeline().get(CODEC) != null) {
      channel.pipeline().addAfter(CODEC, "muxgateClosingResponses", new ClosingResponses(closing));
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof HttpResponse response && !HttpUtil.isKeepAlive(response)) {
      closing.run();
    }
    ctx.fireChannelRead(msg);
  }
}
