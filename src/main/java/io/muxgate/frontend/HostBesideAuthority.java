package io.muxgate.frontend;

import io.muxgate.forward.AuthorityMatch;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameListener;
import io.netty.handler.codec.http2.Http2FrameListenerDecorator;
import io.netty.handler.codec.http2.Http2Headers;
import io.vertx.core.http.HttpHeaders;

/**
 * An HTTP/2 request head with a {@code host} header beside its {@code :authority}, settled before any
 * stream reads it. Vert.x 5.0.10's server compares the two as written (case and port included) and
 * resets the stream with PROTOCOL_ERROR when they differ, which no log line or metric sees. Here a
 * {@code host} that names the same entity once normalized ({@link AuthorityMatch}) is dropped: the proxy
 * routes and forwards by {@code :authority}, so the request is served. One that names another entity stays,
 * and {@link RefusedHeads} answers the head with the proxy's own 400 {@code host_mismatch}, logged and counted.
 */
final class HostBesideAuthority {

  private HostBesideAuthority() {
  }

  /**
   * Settles {@code head}, which carries both; returns whether it is left without {@code host}. A head whose
   * {@code host} names another entity, or whose {@code :authority} is unreadable, is left as it is, for
   * {@link RefusedHeads} to answer.
   */
  static boolean settle(Http2Headers head) {
    if (!AuthorityMatch.hostsNameAuthority(head)) {
      return false;
    }
    head.remove(HttpHeaders.HOST);
    return true;
  }

  /**
   * The step in front of Vert.x's frame listener, for connections whose streams are all Vert.x's
   * ({@code -Dmuxgate.front_streams=false}); {@link FrontStreams} takes it itself. It also lets
   * {@code refused} answer the heads Vert.x would reset unseen, and {@code fence} see its PING acknowledgements.
   */
  static Http2FrameListener before(Http2FrameListener vertx, int lastStreamCreated, ResetFence fence,
                                   RefusedHeads refused) {
    return new Step(vertx, lastStreamCreated, fence, refused);
  }

  private static final class Step extends Http2FrameListenerDecorator {

    private final ResetFence fence;
    private final RefusedHeads refused;
    /** The highest client stream id whose first HEADERS were seen: later ones on it are trailers. */
    private int lastOpened;

    Step(Http2FrameListener vertx, int lastStreamCreated, ResetFence fence, RefusedHeads refused) {
      super(vertx);
      this.lastOpened = lastStreamCreated;
      this.fence = fence;
      this.refused = refused;
      refused.watchClosing(() -> lastOpened);
    }

    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding, boolean end)
      throws Http2Exception {
      if (!answered(streamId, headers, end)) {
        super.onHeadersRead(ctx, streamId, headers, padding, end);
      }
    }

    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int dependency,
                              short weight, boolean exclusive, int padding, boolean end) throws Http2Exception {
      if (!answered(streamId, headers, end)) {
        super.onHeadersRead(ctx, streamId, headers, dependency, weight, exclusive, padding, end);
      }
    }

    @Override
    public void onPingAckRead(ChannelHandlerContext ctx, long data) throws Http2Exception {
      if (!fence.onPingAck(data)) {
        super.onPingAckRead(ctx, data);
      }
    }

    /** Settles a new stream's head; returns whether the frame was answered here instead of going to Vert.x. */
    private boolean answered(int streamId, Http2Headers headers, boolean end) {
      if (streamId <= lastOpened) {
        return refused.answered(streamId);
      }
      lastOpened = streamId;
      if (headers.authority() != null && headers.contains(HttpHeaders.HOST)) {
        settle(headers);
      }
      return refused.refuse(streamId, headers, end);
    }
  }
}
