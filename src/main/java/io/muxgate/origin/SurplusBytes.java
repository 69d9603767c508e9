package io.muxgate.origin;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.internal.logging.Logger;
import io.vertx.core.internal.logging.LoggerFactory;

import java.net.InetSocketAddress;

/**
 * Retires an HTTP/1.1 origin connection on which the origin sent bytes nobody asked for: more than its
 * response (past its Content-Length or last chunk), or anything while no request is outstanding.
 * Netty's codec would keep such bytes and decode them as (part of) the answer to the next request on the
 * connection, which may be another client's: a response desync. The connection is closed instead (as
 * nginx drops such an upstream connection) and the next request gets a fresh one.
 *
 * <p>It sits right after the codec, where it sees requests go out and responses come in decoded. When a
 * final response has ended, any bytes the codec still holds from the same read came after it
 * ({@link ConnectionInternals#undecodedBytes}: the codec hands on a message before decoding further); a
 * second handler, just before the codec, catches the bytes of any later read with no request outstanding.
 */
final class SurplusBytes extends ChannelDuplexHandler {

  private static final Logger log = LoggerFactory.getLogger(SurplusBytes.class);
  private static final String CODEC = "codec";

  private final OriginPeer peer;
  /** The codec's byte decoder, looked up once; null if out of reach. */
  private final ByteToMessageDecoder decoder;
  private final Runnable retire;
  /** A request went out whose final (non-1xx) response has not ended yet. */
  private boolean awaiting;
  private boolean finalResponse;
  /** An informational response Vert.x cannot take is being dropped, up to its (empty) end. */
  private boolean droppingInformational;
  private boolean retired;

  private SurplusBytes(OriginPeer peer, ChannelHandler codec, Runnable retire) {
    this.peer = peer;
    this.decoder = ConnectionInternals.decoderOf(codec);
    this.retire = retire;
  }

  /**
   * Guards {@code channel}, an HTTP/1.x origin connection with no request sent yet; {@code retire} runs
   * on its loop when the connection is given up, before it closes. Install it after any other handler
   * placed after the codec, so that it comes first and a response nobody asked for reaches no one.
   */
  static void watch(Channel channel, OriginPeer peer, Runnable retire) {
    ChannelHandler codec = channel == null ? null : channel.pipeline().get(CODEC);
    if (codec != null) {
      SurplusBytes guard = new SurplusBytes(peer, codec, retire);
      channel.pipeline().addBefore(CODEC, "muxgateUnaskedBytes", guard.new BeforeCodec());
      channel.pipeline().addAfter(CODEC, "muxgateSurplusBytes", guard);
    }
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
    if (msg instanceof HttpRequest) {
      awaiting = true;
    }
    ctx.write(msg, promise);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof HttpObject)) {
      ctx.fireChannelRead(msg);
      return;
    }
    if (!awaiting) {
      // The rest of a read that carried a response and more: the connection is already being retired.
      ReferenceCountUtil.release(msg);
      retire(ctx, "a response with no request outstanding");
      return;
    }
    if (msg instanceof HttpResponse response) {
      finalResponse = response.status().codeClass() != HttpStatusClass.INFORMATIONAL;
      int code = response.status().code();
      if (!finalResponse && code != 100 && code != 101 && code != 103) {
        // Vert.x's client knows 100 and 103 only and takes any other 1xx (a WebDAV server's 102
        // Processing) for the final response, then the real one for a desync. It is dropped here, as an
        // HTTP/2 origin's is, with the empty end the codec gives it.
        droppingInformational = true;
        ReferenceCountUtil.release(msg);
        return;
      }
    } else if (droppingInformational && msg instanceof LastHttpContent) {
      droppingInformational = false;
      ReferenceCountUtil.release(msg);
      return;
    }
    boolean ended = msg instanceof LastHttpContent && finalResponse;
    if (ended) {
      awaiting = false;
    }
    ctx.fireChannelRead(msg);
    if (ended) {
      int held = ConnectionInternals.undecodedBytes(decoder);
      if (held > 0) {
        retire(ctx, held + " bytes past its response");
      } else if (held < 0) {
        retire(ctx, null);
      }
    }
  }

  /** {@code what} is null when the codec is out of reach: then no connection is used twice, silently. */
  private void retire(ChannelHandlerContext ctx, String what) {
    if (retired) {
      return;
    }
    retired = true;
    if (what != null) {
      log.warn("origin " + peer.address() + " (zone " + peer.zone() + ") sent " + what
        + "; closing the connection from local port " + localPort(ctx));
    }
    retire.run();
    ctx.close();
  }

  private static String localPort(ChannelHandlerContext ctx) {
    return ctx.channel().localAddress() instanceof InetSocketAddress a ? String.valueOf(a.getPort()) : "?";
  }

  /** Bytes read with no request outstanding, before the codec swallows a partial message unseen. */
  private final class BeforeCodec extends ChannelInboundHandlerAdapter {

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (!awaiting && msg instanceof ByteBuf bytes && bytes.isReadable()) {
        int length = bytes.readableBytes();
        bytes.release();
        retire(ctx, length + " bytes with no request outstanding");
        return;
      }
      ctx.fireChannelRead(msg);
    }
  }
}
