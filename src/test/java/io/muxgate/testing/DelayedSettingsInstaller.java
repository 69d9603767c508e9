package io.muxgate.testing;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Delays the server's first SETTINGS frame. Netty's HTTP/2 codec writes its SETTINGS the moment it
 * is added to an active channel, so this handler keeps the codec out of the pipeline: it buffers the
 * client's bytes (preface, SETTINGS, maybe requests), and {@code delay} after the first of them
 * arrives it installs the codec behind itself, replays the buffered bytes and steps aside.
 */
final class DelayedSettingsInstaller extends ChannelInboundHandlerAdapter {

    private final Duration delay;
    private final Consumer<ChannelHandlerContext> installHttp2;
    private final List<Object> buffered = new ArrayList<>();
    private boolean timerStarted;

    DelayedSettingsInstaller(Duration delay, Consumer<ChannelHandlerContext> installHttp2) {
        this.delay = delay;
        this.installHttp2 = installHttp2;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        buffered.add(msg);
        if (!timerStarted) {
            timerStarted = true;
            ctx.executor().schedule(() -> install(ctx), delay.toNanos(), TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        // Swallowed: nothing behind us yet.
    }

    private void install(ChannelHandlerContext ctx) {
        if (!ctx.channel().isActive()) {
            return; // handlerRemoved releases the buffer
        }
        installHttp2.accept(ctx); // adds the codec behind us; it sends SETTINGS right now
        List<Object> replay = new ArrayList<>(buffered);
        buffered.clear();
        replay.forEach(ctx::fireChannelRead);
        ctx.fireChannelReadComplete();
        ctx.pipeline().remove(this);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        buffered.forEach(ReferenceCountUtil::release);
        buffered.clear();
    }
}
