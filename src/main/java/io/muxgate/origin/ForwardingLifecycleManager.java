package io.muxgate.origin;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http2.Http2LifecycleManager;
import io.netty.handler.codec.http2.Http2Stream;

/**
 * A lifecycle manager for an HTTP/2 codec's encoder that leaves everything to the codec's own: those
 * that handle write errors their way override {@link #onError} alone.
 */
abstract class ForwardingLifecycleManager implements Http2LifecycleManager {

  final Http2LifecycleManager codec;

  ForwardingLifecycleManager(Http2LifecycleManager codec) {
    this.codec = codec;
  }

  @Override
  public void onError(ChannelHandlerContext ctx, boolean outbound, Throwable cause) {
    codec.onError(ctx, outbound, cause);
  }

  @Override
  public void closeStreamLocal(Http2Stream stream, ChannelFuture future) {
    codec.closeStreamLocal(stream, future);
  }

  @Override
  public void closeStreamRemote(Http2Stream stream, ChannelFuture future) {
    codec.closeStreamRemote(stream, future);
  }

  @Override
  public void closeStream(Http2Stream stream, ChannelFuture future) {
    codec.closeStream(stream, future);
  }

  @Override
  public ChannelFuture resetStream(ChannelHandlerContext ctx, int streamId, long errorCode, ChannelPromise promise) {
    return codec.resetStream(ctx, streamId, errorCode, promise);
  }

  @Override
  public ChannelFuture goAway(ChannelHandlerContext ctx, int lastStreamId, long errorCode, ByteBuf debugData,
                              ChannelPromise promise) {
    return codec.goAway(ctx, lastStreamId, errorCode, debugData, promise);
  }
}
