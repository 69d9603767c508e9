package io.muxgate.testing;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http2.DefaultHttp2SettingsFrame;
import io.netty.handler.codec.http2.DefaultHttp2WindowUpdateFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2FrameStreamEvent;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.util.ReferenceCountUtil;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Sits behind Netty's {@link Http2FrameCodec} on one connection: turns request HEADERS into
 * {@link RecordedRequest}s, asks the policy for an action and gives the action an {@link OriginExchange}.
 * Everything here runs on the connection's event loop.
 */
final class FaultConnectionHandler extends ChannelInboundHandlerAdapter {

    private final OriginStats stats;
    private final ConnectionRecord connection;
    private final Http2FrameCodec codec;
    private final Supplier<FaultPolicy> policy;
    private final Map<Integer, OriginExchange> exchanges = new HashMap<>();
    private ChannelHandlerContext ctx;
    /** Context of the pass-through handler in front of the codec: writes there skip HTTP/2 framing. */
    private ChannelHandlerContext rawCtx;
    private boolean closeWhenNoActiveStreams;

    FaultConnectionHandler(OriginStats stats, ConnectionRecord connection, Http2FrameCodec codec,
                           Supplier<FaultPolicy> policy) {
        this.stats = stats;
        this.connection = connection;
        this.codec = codec;
        this.policy = policy;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.rawCtx = ctx.pipeline().context(OriginChannelInitializer.RAW_WRITER);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (msg instanceof Http2HeadersFrame headers) {
                onHeaders(headers);
            } else if (msg instanceof Http2DataFrame data) {
                onData(data);
            } else if (msg instanceof Http2ResetFrame reset) {
                exchanges.remove(reset.stream().id());
            }
            // SETTINGS, PING, GOAWAY, WINDOW_UPDATE: counted by FrameTap, acked by the codec if configured.
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void onHeaders(Http2HeadersFrame frame) {
        Http2FrameStream stream = frame.stream();
        OriginExchange existing = exchanges.get(stream.id());
        if (existing != null) { // request trailers
            if (frame.isEndStream()) {
                existing.requestBodyComplete();
            }
            return;
        }
        Http2Headers headers = frame.headers();
        String path = String.valueOf(headers.path());
        RecordedRequest request = new RecordedRequest(connection.index, connection.wireRequests,
                stats.nextAttemptForPath(path), stream.id(), String.valueOf(headers.method()), path,
                headers.authority() == null ? null : headers.authority().toString(),
                OriginExchange.headerList(headers));
        stats.requestDispatched(request, connection, codec.connection().numActiveStreams());
        // Publish before acting: a client must never get an answer before the stats show its request.
        // Effects of the action are still ordered: work a test triggers runs later on this same loop.
        stats.publishRequests(connection);

        OriginExchange exchange = new OriginExchange(this, stream, request, frame.isEndStream());
        exchanges.put(stream.id(), exchange);
        FaultAction action;
        try {
            action = policy.get().decide(request);
        } catch (RuntimeException e) {
            action = FaultActions.respond(CannedResponse.of(500, "policy failed: " + e));
        }
        action.perform(exchange);
    }

    private void onData(Http2DataFrame data) {
        // The frame codec leaves flow control to us: hand the window back or big uploads stall.
        if (data.initialFlowControlledBytes() > 0) {
            ctx.writeAndFlush(new DefaultHttp2WindowUpdateFrame(data.initialFlowControlledBytes())
                    .stream(data.stream()));
        }
        OriginExchange exchange = exchanges.get(data.stream().id());
        if (exchange != null && data.isEndStream()) {
            exchange.requestBodyComplete();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        stats.publishRequests(connection); // requests the codec dropped (e.g. after our GOAWAY)
        ctx.fireChannelReadComplete();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        stats.publishRequests(connection);
        ctx.fireChannelInactive();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof Http2FrameStreamEvent event && event.type() == Http2FrameStreamEvent.Type.State
                && event.stream().state() == Http2Stream.State.CLOSED) {
            exchanges.remove(event.stream().id());
            closeIfGoneAwayAndIdle();
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // Protocol errors from the client are part of the tests; the codec already answered them.
    }

    // ---- operations for OriginExchange ----

    EventLoop executor() {
        return ctx.channel().eventLoop();
    }

    void write(Object frame) {
        ctx.write(frame);
    }

    void flush() {
        ctx.flush();
    }

    void writeAndFlush(Object frame) {
        ctx.writeAndFlush(frame);
    }

    void writeRaw(byte[] bytes) {
        rawCtx.writeAndFlush(Unpooled.wrappedBuffer(bytes));
    }

    void sendSettings(Http2Settings settings) {
        ctx.writeAndFlush(new DefaultHttp2SettingsFrame(settings));
    }

    void goAway(int lastStreamId, long errorCode) {
        ChannelHandlerContext codecCtx = ctx.pipeline().context(codec);
        // Http2ConnectionHandler.goAway lets us pick lastStreamId; writing a GOAWAY frame through the
        // codec would not (it always uses the last stream it created).
        codec.goAway(codecCtx, lastStreamId, errorCode, Unpooled.EMPTY_BUFFER, codecCtx.newPromise());
        codecCtx.flush();
        closeWhenNoActiveStreams = true;
        closeIfGoneAwayAndIdle();
    }

    /**
     * Closes from below the codec, so Netty's graceful HTTP/2 shutdown (GOAWAY, waiting for streams)
     * is skipped. Not ChannelFutureListener.CLOSE: that closes via the channel, i.e. through the codec.
     */
    void closeAbruptly() {
        rawCtx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(written -> rawCtx.close());
    }

    /** Closes with a TCP reset (SO_LINGER 0), as the kernel closes a socket with received bytes unread. */
    void closeWithReset() {
        rawCtx.channel().config().setOption(ChannelOption.SO_LINGER, 0);
        rawCtx.close();
    }

    private void closeIfGoneAwayAndIdle() {
        if (closeWhenNoActiveStreams && codec.connection().numActiveStreams() == 0) {
            closeAbruptly();
        }
    }
}
