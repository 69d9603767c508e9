package io.muxgate.testing;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http2.Http2Settings;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A deliberately misbehaving HTTP/2 origin for proxy tests, built on Netty's HTTP/2 frame codec so
 * each stream's fate (answer, park, GOAWAY, RST_STREAM, stall, cut the connection, protocol error...)
 * is chosen per request by a {@link FaultPolicy}. Binds 127.0.0.1 on an ephemeral port and runs on its
 * own single-threaded event loop; {@link #close()} stops it and waits.
 *
 * <pre>{@code
 * try (FaultOrigin origin = FaultOrigin.builder()
 *         .policy(FaultPolicy.firstAttemptPerPath(FaultActions.refuseStream(), FaultActions.ok("hi")))
 *         .start()) {
 *     ... point the proxy at 127.0.0.1:origin.port() ...
 *     origin.stats().awaitRequestsReceived(2);
 * }
 * }</pre>
 */
public final class FaultOrigin implements AutoCloseable {

    public static final String HOST = "127.0.0.1";

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final OriginStats stats = new OriginStats();
    private final SelfSignedTls tls;
    private final Channel serverChannel;
    private volatile FaultPolicy policy;

    public static FaultOriginBuilder builder() {
        return new FaultOriginBuilder();
    }

    /** An h2c origin with default options and the given policy. */
    public static FaultOrigin start(FaultPolicy policy) {
        return builder().policy(policy).start();
    }

    FaultOrigin(FaultOriginBuilder options) {
        this.policy = options.policy;
        this.tls = options.mode == ListenMode.H2_TLS ? SelfSignedTls.shared() : null;
        try {
            serverChannel = new ServerBootstrap()
                    .group(group)
                    .channel(NioServerSocketChannel.class)
                    .childHandler(new OriginChannelInitializer(options, tls, stats, () -> policy))
                    .bind(new InetSocketAddress(HOST, 0))
                    .sync()
                    .channel();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            throw new IllegalStateException("Interrupted while binding", e);
        }
    }

    public int port() {
        return ((InetSocketAddress) serverChannel.localAddress()).getPort();
    }

    /** "127.0.0.1:port", handy for proxy route configuration. */
    public String authority() {
        return HOST + ":" + port();
    }

    public OriginStats stats() {
        return stats;
    }

    /** Swaps the policy for requests arriving from now on. */
    public void policy(FaultPolicy newPolicy) {
        this.policy = newPolicy;
    }

    /** Sends a SETTINGS frame on every open HTTP/2 connection; completes once written. */
    public CompletableFuture<Void> sendSettings(Http2Settings settings) {
        List<CompletableFuture<Void>> writes = new ArrayList<>();
        for (ConnectionRecord connection : stats.connectionRecords()) {
            Channel channel = connection.channel;
            CompletableFuture<Void> written = new CompletableFuture<>();
            writes.add(written);
            channel.eventLoop().execute(() -> {
                FaultConnectionHandler handler = channel.pipeline().get(FaultConnectionHandler.class);
                if (channel.isActive() && handler != null) {
                    handler.sendSettings(settings);
                }
                written.complete(null);
            });
        }
        return CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new));
    }

    /** The self-signed certificate as PEM text (TLS mode only). */
    public String certificatePem() {
        return requireTls().certificatePem();
    }

    /** Writes the certificate PEM to a new temp file (deleted on JVM exit) so a client can trust it. */
    public Path writeCertificatePem() {
        return requireTls().writeCertificatePem();
    }

    @Override
    public void close() {
        serverChannel.close().awaitUninterruptibly();
        // Shutting the loop down force-closes every accepted connection, parked streams included.
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
    }

    private SelfSignedTls requireTls() {
        if (tls == null) {
            throw new IllegalStateException("The origin was not started with ListenMode.H2_TLS");
        }
        return tls;
    }
}
