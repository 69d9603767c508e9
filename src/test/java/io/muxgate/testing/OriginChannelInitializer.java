package io.muxgate.testing;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.util.ReferenceCountUtil;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.function.Supplier;

/** Builds each accepted connection's pipeline according to the origin's {@link ListenMode} and options. */
final class OriginChannelInitializer extends ChannelInitializer<SocketChannel> {

    /** Name of the pass-through handler right in front of the HTTP/2 codec (see FaultConnectionHandler). */
    static final String RAW_WRITER = "raw-writer";

    private final FaultOriginBuilder options;
    private final SelfSignedTls tls;
    private final OriginStats stats;
    private final Supplier<FaultPolicy> policy;

    OriginChannelInitializer(FaultOriginBuilder options, SelfSignedTls tls, OriginStats stats,
                             Supplier<FaultPolicy> policy) {
        this.options = options;
        this.tls = tls;
        this.stats = stats;
        this.policy = policy;
    }

    @Override
    protected void initChannel(SocketChannel channel) {
        ConnectionRecord connection = stats.connectionAccepted(channel);
        channel.closeFuture().addListener(f -> stats.connectionClosed());
        ChannelPipeline pipeline = channel.pipeline();
        switch (options.mode) {
            case ACCEPT_AND_STAY_SILENT -> channel.config().setAutoRead(false);
            case TLS_HANDSHAKE_GARBAGE -> pipeline.addLast(new GarbageAnswer());
            case H2C -> addHttp2(pipeline, connection);
            case H2_TLS -> {
                pipeline.addLast(tls.serverContext().newHandler(channel.alloc()));
                pipeline.addLast(new ApplicationProtocolNegotiationHandler("none") {
                    @Override
                    protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
                        if (ApplicationProtocolNames.HTTP_2.equals(protocol)) {
                            addHttp2(ctx.pipeline(), connection);
                        } else {
                            ctx.close(); // the client did not offer h2; we only speak HTTP/2
                        }
                    }
                });
            }
            default -> throw new IllegalStateException("Unknown mode " + options.mode);
        }
    }

    private void addHttp2(ChannelPipeline pipeline, ConnectionRecord connection) {
        Duration delay = options.initialSettingsDelay;
        if (delay.isZero()) {
            installCodec(pipeline, connection);
        } else {
            pipeline.addLast(new DelayedSettingsInstaller(delay, ctx -> installCodec(ctx.pipeline(), connection)));
        }
    }

    /** Adding the codec to an active channel makes it send SETTINGS immediately. */
    private void installCodec(ChannelPipeline pipeline, ConnectionRecord connection) {
        Http2FrameCodec codec = Http2FrameCodecBuilder.forServer()
                .initialSettings(options.initialSettings())
                .autoAckPingFrame(options.ackPings)
                .frameLogger(new FrameTap(stats, connection))
                .build();
        pipeline.addLast(RAW_WRITER, new ChannelDuplexHandler());
        pipeline.addLast(codec);
        pipeline.addLast(new FaultConnectionHandler(stats, connection, codec, policy));
    }

    /** Answers a TLS ClientHello with plain text: the first byte is not a TLS record type. */
    private static final class GarbageAnswer extends ChannelInboundHandlerAdapter {
        private boolean answered;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
            if (!answered) {
                answered = true;
                ctx.writeAndFlush(Unpooled.copiedBuffer("HTTP/1.1 400 Not TLS\r\n\r\n", StandardCharsets.US_ASCII));
            }
        }
    }
}
