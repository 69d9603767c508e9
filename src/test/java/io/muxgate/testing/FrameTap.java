package io.muxgate.testing;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2FrameLogger;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.logging.LogLevel;

/**
 * Counts inbound frames as they come off the wire. Netty's frame logger hook sees every frame before
 * the connection logic, so frames the codec later drops (e.g. HEADERS after our GOAWAY, RST_STREAM
 * for a stream it already closed) are still counted. Nothing is logged.
 */
final class FrameTap extends Http2FrameLogger {

    private final OriginStats stats;
    private final ConnectionRecord connection;

    FrameTap(OriginStats stats, ConnectionRecord connection) {
        super(LogLevel.TRACE, FrameTap.class);
        this.stats = stats;
        this.connection = connection;
    }

    @Override
    public boolean isEnabled() {
        return false;
    }

    @Override
    public void logHeaders(Direction direction, ChannelHandlerContext ctx, int streamId, Http2Headers headers,
                           int padding, boolean endStream) {
        countRequest(direction, streamId);
    }

    @Override
    public void logHeaders(Direction direction, ChannelHandlerContext ctx, int streamId, Http2Headers headers,
                           int streamDependency, short weight, boolean exclusive, int padding, boolean endStream) {
        countRequest(direction, streamId);
    }

    @Override
    public void logRstStream(Direction direction, ChannelHandlerContext ctx, int streamId, long errorCode) {
        if (direction == Direction.INBOUND) {
            stats.resetReceived(new ReceivedReset(connection.index, streamId, errorCode));
        }
    }

    @Override
    public void logPing(Direction direction, ChannelHandlerContext ctx, long data) {
        if (direction == Direction.INBOUND) {
            stats.pingReceived();
        }
    }

    @Override
    public void logGoAway(Direction direction, ChannelHandlerContext ctx, int lastStreamId, long errorCode,
                          ByteBuf debugData) {
        if (direction == Direction.INBOUND) {
            stats.goAwayReceived(lastStreamId, errorCode);
        }
    }

    @Override
    public void logSettings(Direction direction, ChannelHandlerContext ctx, Http2Settings settings) {
        if (direction == Direction.INBOUND && settings.initialWindowSize() != null) {
            stats.initialWindowSizeReceived(settings.initialWindowSize());
        }
    }

    @Override
    public void logWindowsUpdate(Direction direction, ChannelHandlerContext ctx, int streamId, int windowSizeIncrement) {
        if (direction == Direction.INBOUND && streamId != 0) {
            stats.streamWindowUpdateReceived(windowSizeIncrement);
        }
    }

    private void countRequest(Direction direction, int streamId) {
        // A HEADERS frame on a stream id we saw before is the request's trailers, not a new request.
        if (direction == Direction.INBOUND && streamId > connection.highestRequestStreamId) {
            connection.highestRequestStreamId = streamId;
            connection.wireRequests++; // published by FaultConnectionHandler once handled

        }
    }
}
