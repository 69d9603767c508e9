package io.muxgate.origin;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AttributeKey;

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
 *
 * <p>And it marks a connection whose origin answers in HTTP/1.0, for the response's {@code via} entry, and
 * reads a later HTTP/1 minor version ({@code HTTP/1.2 200}) as HTTP/1.1, as RFC 9110, section 2.5 asks and
 * HAProxy and nginx do: Vert.x's client fails a response in a version it does not know (a 520).
 */
final class ClosingResponses extends ChannelInboundHandlerAdapter {

  /** The name of Vert.x's HTTP/1.x client codec in an origin connection's pipeline. */
  private static final String CODEC = "codec";
  /**
   * Set once the origin answered in HTTP/1.0, and kept: a server's version is its own, not a response's.
   * Set before Vert.x hands the response on, it is there for the stream that reads it, on any loop; a flag
   * that followed each response could already hold the next one's, as the connection serves the next
   * request as soon as a response ends.
   */
  private static final AttributeKey<Boolean> HTTP_1_0 = AttributeKey.valueOf("muxgate.answersInHttp10");

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
      HttpVersion version = response.protocolVersion();
      if (version == HttpVersion.HTTP_1_0 && !ctx.channel().hasAttr(HTTP_1_0)) {
        ctx.channel().attr(HTTP_1_0).set(Boolean.TRUE);
      } else if (version != HttpVersion.HTTP_1_1 && version.majorVersion() == 1 && version.minorVersion() > 1) {
        response.setProtocolVersion(HttpVersion.HTTP_1_1);
      }
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

  /** Whether the origin of this HTTP/1.x connection answers in HTTP/1.0 (Vert.x reports it as HTTP/1.1). */
  static boolean answersInHttp10(Channel channel) {
    return channel != null && channel.hasAttr(HTTP_1_0);
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
