package io.muxgate.testing;

import io.netty.channel.Channel;

import java.util.concurrent.atomic.AtomicInteger;

/** Per-connection counters. Written on the connection's event loop, read from any thread. */
final class ConnectionRecord {

    final int index;
    final Channel channel;
    /** Published request count; see OriginStats.publishRequests for why it lags {@link #wireRequests}. */
    final AtomicInteger requests = new AtomicInteger();
    final AtomicInteger maxConcurrentStreams = new AtomicInteger();
    // Event-loop only. Highest request stream id seen on the wire: tells new requests from trailers.
    int highestRequestStreamId;
    // Event-loop only. Requests read off the wire, published or not.
    int wireRequests;

    ConnectionRecord(int index, Channel channel) {
        this.index = index;
        this.channel = channel;
    }
}
