package io.muxgate.frontend;

import io.muxgate.origin.SocketTuning;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Stream;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.net.impl.ConnectionBase;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Closes a client connection that has had no request in flight for {@code client_idle_timeout_s}: a
 * keep-alive connection nobody uses, and a slowloris that trickles a request head (or HTTP/2 frames
 * that open no stream) to keep its socket. The clock runs only while no request is in flight, so a long
 * poll or a quiet stream waiting on its origin for up to {@code proxy_read_timeout} is never cut, nor is
 * a WebSocket. An HTTP/2 connection says GOAWAY(NO_ERROR) first (the codec's close does).
 *
 * <p>Until the front end takes a connection over, Vert.x's idle timeout (time without bytes) closes it if
 * the client stays silent; at takeover that handler leaves the pipeline, as it wraps every write's promise
 * to time it. HTTP/2 connections are watched through their streams; HTTP/1.x ones by a handler just before
 * Vert.x's that sees decoded requests and responses. Going idle and busy only note the time: one timer per
 * connection, rescheduled when it fires early. Runs on the connection's event loop.
 *
 * <p>The same timeout bounds a close that the client does not let finish. Vert.x closes a connection only
 * once what it has written is sent, so a client that stops reading a response the proxy then gave up on
 * (a read timeout, an HTTP/1.1 response cut) would hold its socket, and the bytes queued for it, for as
 * long as it likes. A close that has sent nothing of what is pending for a whole timeout is cut with a TCP
 * reset ({@link SocketTuning#abort}).
 */
final class IdleClients {

  /** Names of Vert.x's connection handler and idle timer in a client connection's pipeline. */
  private static final String VERTX = "handler";
  private static final String VERTX_IDLE = "idle";

  private final Channel channel;
  private final long timeoutNanos;
  /** When the connection last went idle; {@link #BUSY} while a request is in flight. */
  private long idleSince;
  private ScheduledFuture<?> timer;
  private static final long BUSY = Long.MIN_VALUE;
  /** Checks the progress of a close once one was asked for; null before. */
  private ScheduledFuture<?> closeTimer;
  /** Bytes waiting to be sent at the last check of a close. */
  private long pendingAtCheck;

  private IdleClients(Channel channel, long timeoutNanos) {
    this.channel = channel;
    this.timeoutNanos = timeoutNanos;
  }

  /** Watches a client connection Vert.x's server has just handed over; a no-op for a hidden channel. */
  static void install(HttpConnection connection, int timeoutSeconds) {
    Channel channel = connection instanceof ConnectionBase base ? base.channel() : null;
    if (channel == null || channel.pipeline().get(VERTX) == null) {
      return;
    }
    if (channel.pipeline().get(VERTX_IDLE) != null) {
      channel.pipeline().remove(VERTX_IDLE);
    }
    IdleClients watch = new IdleClients(channel, TimeUnit.SECONDS.toNanos(timeoutSeconds));
    Http2ConnectionHandler codec = channel.pipeline().get(Http2ConnectionHandler.class);
    if (codec != null) {
      watch.watchStreams(codec.connection());
    } else {
      channel.pipeline().addBefore(VERTX, null, watch.new Http1Messages());
    }
    channel.pipeline().addLast(watch.new Closing());
    channel.closeFuture().addListener(f -> watch.stop());
    watch.idle();
  }

  private void watchStreams(Http2Connection http2) {
    http2.addListener(new Http2ConnectionAdapter() {
      @Override
      public void onStreamActive(Http2Stream stream) {
        idleSince = BUSY;
      }

      @Override
      public void onStreamClosed(Http2Stream stream) {
        if (http2.numActiveStreams() == 0) {
          idle();
        }
      }
    });
  }

  private void idle() {
    idleSince = System.nanoTime();
    if (timer == null && channel.isActive()) {
      timer = channel.eventLoop().schedule(this::check, timeoutNanos, TimeUnit.NANOSECONDS);
    }
  }

  private void check() {
    timer = null;
    if (idleSince == BUSY || !channel.isActive()) {
      return; // the next idle() starts a new timer
    }
    long left = idleSince + timeoutNanos - System.nanoTime();
    if (left > 0) {
      timer = channel.eventLoop().schedule(this::check, left, TimeUnit.NANOSECONDS);
    } else {
      channel.close();   // through the HTTP/2 codec, which sends GOAWAY(NO_ERROR)
    }
  }

  private void stop() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
    if (closeTimer != null) {
      closeTimer.cancel(false);
      closeTimer = null;
    }
  }

  private void closing() {
    if (closeTimer == null && channel.isActive()) {
      pendingAtCheck = pendingBytes();
      closeTimer = channel.eventLoop().schedule(this::checkClose, timeoutNanos, TimeUnit.NANOSECONDS);
    }
  }

  private void checkClose() {
    if (!channel.isActive()) {
      return;
    }
    long pending = pendingBytes();
    if (pending > 0 && pending == pendingAtCheck) {
      SocketTuning.abort(channel);
    } else {
      pendingAtCheck = pending;
      closeTimer = channel.eventLoop().schedule(this::checkClose, timeoutNanos, TimeUnit.NANOSECONDS);
    }
  }

  private long pendingBytes() {
    ChannelOutboundBuffer queued = channel.unsafe().outboundBuffer();
    return queued == null ? 0 : queued.totalPendingWriteBytes();
  }

  /**
   * Last in the pipeline, so first to see a close asked of the channel: by Vert.x (an HTTP/1.1 response
   * reset, {@code Connection: close}) or by this watch.
   */
  private final class Closing extends ChannelOutboundHandlerAdapter {
    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) throws Exception {
      closing();
      ctx.close(promise);
    }
  }

  /** HTTP/1.x: a request read makes the connection busy, the end of its response idle again. */
  private final class Http1Messages extends ChannelDuplexHandler {

    /** Requests read whose response has not ended (several when pipelined). */
    private int inFlight;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof HttpRequest) {
        inFlight++;
        idleSince = BUSY;
      }
      ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      if (msg instanceof LastHttpContent && !informational(msg) && inFlight > 0 && --inFlight == 0
        && ctx.pipeline().get("httpDecoder") != null) {
        // (after an Upgrade, a WebSocket, the connection is a tunnel with no decoder: never idle here)
        idle();
      }
      ctx.write(msg, promise);
    }

    /** A 100 (Continue) or 103 (Early Hints): the request goes on. */
    private static boolean informational(Object msg) {
      return msg instanceof HttpResponse response && response.status().code() < 200;
    }
  }
}
