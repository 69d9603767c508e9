package io.muxgate.frontend;

import io.muxgate.forward.Forwarder;
import io.muxgate.forward.MalformedHead;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Stream;

import java.util.function.IntSupplier;

/**
 * Client HTTP/2 streams whose first HEADERS no stream can carry ({@link MalformedHead}), answered here on the
 * connection's codec with the proxy's own 400 (or 501), logged and counted by the forwarder: Vert.x's server
 * would reset them with PROTOCOL_ERROR, unseen by any log line or metric. Used in both modes, by
 * {@link FrontStreams} and, when Vert.x takes every stream, by {@link HostBesideAuthority}'s step in front of it.
 *
 * <p>A request whose body is still coming is told to stop with RST_STREAM(NO_ERROR) once the answer is out
 * (RFC 9113, section 8.1), through the connection's {@link ResetFence}; meanwhile its DATA goes to Vert.x's
 * listener, which knows no such stream and drops it, and its trailers are dropped here (Vert.x would read
 * them as a new request head). Runs on the connection's event loop.
 */
final class RefusedHeads {


  private final Http2ConnectionHandler handler;
  private final ChannelHandlerContext ctx;
  private final ChannelPromise quiet;
  private final ResetFence fence;
  private final Forwarder forwarder;
  private final String remoteHost;
  private final boolean extendedConnect;
  private final Http2Connection.PropertyKey key;

  /** {@code extendedConnect}: whether the connection offered RFC 8441 and the front end carries its WebSocket. */
  RefusedHeads(Http2ConnectionHandler handler, ChannelHandlerContext ctx, ChannelPromise quiet, ResetFence fence,
               Forwarder forwarder, String remoteHost, boolean extendedConnect) {
    this.handler = handler;
    this.ctx = ctx;
    this.quiet = quiet;
    this.fence = fence;
    this.forwarder = forwarder;
    this.remoteHost = remoteHost;
    this.extendedConnect = extendedConnect;
    this.key = handler.connection().newKey();
  }

  /** Answers the stream {@code head} opens if no stream can carry it; returns whether it did. */
  boolean refuse(int streamId, Http2Headers head, boolean end) {
    String reason = MalformedHead.fault(head, extendedConnect);
    Http2Stream stream = reason == null ? null : handler.connection().stream(streamId);
    if (stream == null) {
      return false;
    }
    stream.setProperty(key, reason);
    Http2Headers answer = forwarder.refuseHead(head, reason, remoteHost);
    boolean body = Forwarder.errorBodyBytes(head.method()) > 0;
    ChannelPromise sent = end ? quiet : ctx.newPromise();
    handler.encoder().writeHeaders(ctx, streamId, answer, 0, !body, body ? quiet : sent);
    if (body) {
      handler.encoder().writeData(ctx, streamId, Forwarder.errorBody(MalformedHead.status(reason)), 0, true, sent);
    }
    if (!end) {
      // Once the answer's last frame is written nothing of it waits in flow control, and the codec half-closes
      // the stream just after (over TLS, after this listener has run): then the fence may reset it.
      sent.addListener(written -> ctx.executor().execute(() -> {
        if (written.isSuccess() && stream.state() == Http2Stream.State.HALF_CLOSED_LOCAL) {
          fence.reset(stream, Http2Error.NO_ERROR.code());
        }
      }));
    }
    ctx.channel().flush();
    return true;
  }

  /**
   * Logs and counts a client stream the codec answered by itself as it closes: the bare 431 Netty writes to
   * a header list over the SETTINGS_MAX_HEADER_LIST_SIZE the front end advertises, which it decodes to its
   * end, drops, and answers on a stream it opens for that alone. Such a stream is the only one with a
   * response sent whose HEADERS no frame listener saw: {@code lastOpened} is the highest stream id they did.
   */
  void closed(Http2Stream stream, int lastOpened) {
    if (stream.id() > lastOpened && stream.isHeadersSent() && handler.connection().remote().isValidStreamId(stream.id())) {
      forwarder.refusedHeaderList(remoteHost);
    }
  }

  /** {@link #closed} for each stream of the connection, where no listener of the front end's sees them close. */
  void watchClosing(IntSupplier lastOpened) {
    handler.connection().addListener(new Http2ConnectionAdapter() {
      @Override
      public void onStreamClosed(Http2Stream stream) {
        closed(stream, lastOpened.getAsInt());
      }
    });
  }

  /** Whether {@code streamId} is a stream answered here: its later HEADERS (trailers) are dropped. */
  boolean answered(int streamId) {
    Http2Stream stream = handler.connection().stream(streamId);
    return stream != null && stream.getProperty(key) != null;
  }
}
