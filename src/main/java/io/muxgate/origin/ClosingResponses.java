package io.muxgate.origin;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;

import java.util.function.IntConsumer;

/**
 * Spots, on an HTTP/1.x origin connection, the response after which the origin closes it: one with
 * {@code Connection: close}, or an HTTP/1.0 one without keep-alive (Python's http.server and other
 * HTTP/1.0 servers close after every response without saying so). The pool must stop handing the
 * connection out at once: until Vert.x sees the close, a request given it would fail unsent. Vert.x
 * reports such a response as HTTP/1.1, so this looks at the decoded response itself.
 *
 * <p>It also reads how long the origin keeps the connection open idle, where a response says it
 * ({@code Keep-Alive: timeout=5}, as Node and Apache send): a request sent as that time runs out meets
 * the origin's close, and one that is not idempotent cannot be sent again.
 */
final class ClosingResponses extends ChannelInboundHandlerAdapter {

  /** The name of Vert.x's HTTP/1.x client codec in an origin connection's pipeline. */
  private static final String CODEC = "codec";

  private final Runnable closing;
  private final IntConsumer keepAliveSeconds;
  /** The last timeout reported to {@link #keepAliveSeconds}, -1 for none. */
  private int reportedSeconds = -1;

  private ClosingResponses(Runnable closing, IntConsumer keepAliveSeconds) {
    this.closing = closing;
    this.keepAliveSeconds = keepAliveSeconds;
  }

  /**
   * Runs {@code closing} on {@code channel}'s loop for each response that ends the connection, and
   * {@code keepAliveSeconds} when a response announces an idle timeout other than the last one announced.
   */
  static void watch(Channel channel, Runnable closing, IntConsumer keepAliveSeconds) {
    if (channel != null && channel.pipeline().get(CODEC) != null) {
      channel.pipeline().addAfter(CODEC, "muxgateClosingResponses", new ClosingResponses(closing, keepAliveSeconds));
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof HttpResponse response) {
      if (!HttpUtil.isKeepAlive(response)) {
        closing.run();
      } else {
        String keepAlive = response.headers().get(HttpHeaderNames.KEEP_ALIVE);
        int seconds = keepAlive == null ? -1 : timeoutSeconds(keepAlive);
        if (seconds >= 0 && seconds != reportedSeconds) {
          reportedSeconds = seconds;
          keepAliveSeconds.accept(seconds);
        }
      }
    }
    ctx.fireChannelRead(msg);
  }

  /** The {@code timeout} parameter of a Keep-Alive header ("timeout=5, max=100"), or -1. */
  static int timeoutSeconds(String keepAlive) {
    for (String parameter : keepAlive.split(",")) {
      String p = parameter.trim();
      if (p.regionMatches(true, 0, "timeout=", 0, 8)) {
        try {
          return Math.max(0, Integer.parseInt(p.substring(8).trim()));
        } catch (NumberFormatException e) {
          return -1;
        }
      }
    }
    return -1;
  }
}
