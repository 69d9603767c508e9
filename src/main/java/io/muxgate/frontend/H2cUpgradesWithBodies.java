package io.muxgate.frontend;

import io.muxgate.forward.Forwarder;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.vertx.core.http.impl.Http1xOrH2CHandler;

/**
 * Declines an h2c Upgrade whose request has a body or an Expect, or that is incomplete or malformed
 * (RFC 9110, section 7.8 lets a server decline any Upgrade): the request is served as HTTP/1.1 and the connection
 * stays HTTP/1.1. Vert.x switches protocols as soon as it has the request head, and the body has nowhere
 * good to go: a client that sent {@code Expect: 100-continue} waits for a 100 that can no longer come
 * (RFC 7540, section 3.2 wants it before the 101), and a large body sent anyway, read as HTTP/1.1 and
 * handed on as HTTP/2 DATA, stalled part way (5 MB from {@code curl --http2} stopped after 2.6 MB). A
 * bodiless request still upgrades; nginx and HAProxy take no h2c Upgrade at all.
 *
 * <p>The first request of a cleartext connection goes from Vert.x's HTTP/1.x decoder to its upgrade
 * handler, and both are put in place only once Vert.x's preface check has told HTTP/1.x from HTTP/2 by
 * the first bytes read. So this waits just after that check for those bytes, then moves to just before
 * the upgrade handler, and leaves after the first request (or at once on an HTTP/2 preface).
 */
@ChannelHandler.Sharable
final class H2cUpgradesWithBodies extends ChannelInboundHandlerAdapter {

  /** Vert.x's h2c upgrade handler ({@code Http1xUpgradeToH2CHandler}), after the decoder. */
  private static final String UPGRADE = "h2c";
  private static final String AFTER_PREFACE_CHECK = "muxgateH2cPrefaceChecked";
  private static final String BEFORE_UPGRADE = "muxgateH2cUpgradeWithBody";
  private static final H2cUpgradesWithBodies INSTANCE = new H2cUpgradesWithBodies();

  private H2cUpgradesWithBodies() {
  }

  /** Watches a cleartext connection Vert.x has just set up; a no-op on one that does not check for h2c. */
  static void install(Channel channel) {
    ChannelHandlerContext preface = channel.pipeline().context(Http1xOrH2CHandler.class);
    if (preface != null) {
      channel.pipeline().addAfter(preface.name(), AFTER_PREFACE_CHECK, INSTANCE);
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    ChannelPipeline pipeline = ctx.pipeline();
    if (ctx.name().equals(AFTER_PREFACE_CHECK)) {
      if (pipeline.get(UPGRADE) != null) {
        // The check chose HTTP/1.x and hands on the bytes it read: the first request is yet to be decoded.
        pipeline.addBefore(UPGRADE, BEFORE_UPGRADE, INSTANCE);
      }
    } else if (msg instanceof HttpRequest request) {
      if (!mayUpgrade(request)) {
        decline(request.headers());
      } else if (request.headers().contains(HttpHeaderNames.UPGRADE, Http2CodecUtil.HTTP_UPGRADE_PROTOCOL_NAME, true)) {
        ctx.channel().attr(Forwarder.H2C_UPGRADED).set(Boolean.TRUE);
      }
    }
    pipeline.remove(ctx.name());
    ctx.fireChannelRead(msg);
  }

  /**
   * No body and no Expect: a request that may switch protocols at its head. And a whole h2c Upgrade
   * (RFC 7540, section 3.2): Connection naming Upgrade and HTTP2-Settings, and exactly one HTTP2-Settings.
   * Vert.x answers any other a 400 and closes; RFC 9110, section 7.8 lets a server ignore an Upgrade. And a
   * head HTTP/2 can carry: one with an empty field name (": b"), which Vert.x fails to make stream 1 of
   * after its 101, is left to the proxy's HTTP/1.1 refusal.
   */
  private static boolean mayUpgrade(HttpRequest request) {
    HttpHeaders headers = request.headers();
    return request.decoderResult().isSuccess()
      && !headers.contains("")
      && !headers.contains(HttpHeaderNames.EXPECT)
      && !headers.contains(HttpHeaderNames.TRANSFER_ENCODING)
      && HttpUtil.getContentLength(request, 0L) == 0
      && headers.containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true)
      && headers.containsValue(HttpHeaderNames.CONNECTION, Http2CodecUtil.HTTP_UPGRADE_SETTINGS_HEADER, true)
      && headers.getAll(Http2CodecUtil.HTTP_UPGRADE_SETTINGS_HEADER).size() == 1;
  }

  /**
   * Drops the Upgrade Vert.x would take, as its upgrade handler tests it (a value "h2c"), with its
   * settings; the proxy drops both as hop-by-hop anyway.
   */
  private static void decline(HttpHeaders headers) {
    if (headers.contains(HttpHeaderNames.UPGRADE, Http2CodecUtil.HTTP_UPGRADE_PROTOCOL_NAME, true)) {
      headers.remove(HttpHeaderNames.UPGRADE);
      headers.remove(Http2CodecUtil.HTTP_UPGRADE_SETTINGS_HEADER);
    }
  }
}
