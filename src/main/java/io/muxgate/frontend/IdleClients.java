package io.muxgate.frontend;

import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.timeout.IdleStateEvent;
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
 * <p>Sits just before Vert.x's handler, where it sees decoded HTTP/1.x requests and responses and the
 * idle events of Vert.x's own timeout (which closes silent connections before the front end gets them),
 * and holds those back: from here on, time without a request decides, not time without bytes. Runs on
 * the connection's event loop.
 */
final class IdleClients extends ChannelDuplexHandler {

  /** The name of Vert.x's connection handler in a client connection's pipeline. */
  private static final String VERTX = "handler";

  private final long timeoutNanos;
  /** The HTTP/2 connection's streams; null on HTTP/1.x. */
  private final Http2Connection http2;
  /** HTTP/1.x requests read whose response has not ended (several when pipelined). */
  private int requestsInFlight;
  private ScheduledFuture<?> deadline;

  private IdleClients(long timeoutNanos, Http2Connection http2) {
    this.timeoutNanos = timeoutNanos;
    this.http2 = http2;
  }

  /** Watches a client connection Vert.x's server has just handed over; a no-op for a hidden channel. */
  static void install(HttpConnection connection, int timeoutSeconds) {
    Channel channel = connection instanceof ConnectionBase base ? base.channel() : null;
    if (channel == null || channel.pipeline().get(VERTX) == null) {
      return;
    }
    Http2ConnectionHandler codec = channel.pipeline().get(Http2ConnectionHandler.class);
    IdleClients watch = new IdleClients(TimeUnit.SECONDS.toNanos(timeoutSeconds),
      codec == null ? null : codec.connection());
    channel.pipeline().addBefore(VERTX, null, watch);
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    if (http2 != null) {
      http2.addListener(new Http2ConnectionAdapter() {
        @Override
        public void onStreamActive(Http2Stream stream) {
          cancel();
        }

        @Override
        public void onStreamClosed(Http2Stream stream) {
          idleFromNow(ctx);
        }
      });
    }
    idleFromNow(ctx);
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    cancel();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    cancel();
    ctx.fireChannelInactive();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (http2 == null && msg instanceof HttpRequest) {
      requestsInFlight++;
      cancel();
    }
    ctx.fireChannelRead(msg);
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (http2 == null && msg instanceof LastHttpContent && !informational(msg) && requestsInFlight > 0) {
      requestsInFlight--;
      idleFromNow(ctx);
    }
    ctx.write(msg, promise);
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (!(evt instanceof IdleStateEvent)) {
      ctx.fireUserEventTriggered(evt);
    }
  }

  /** A 100 (Continue) or 103 (Early Hints): the request goes on. */
  private static boolean informational(Object msg) {
    return msg instanceof HttpResponse response && response.status().code() < 200;
  }

  private boolean busy(ChannelHandlerContext ctx) {
    if (http2 != null) {
      return http2.numActiveStreams() > 0;
    }
    // After an Upgrade (a WebSocket) the connection is a tunnel with no HTTP/1.x decoder: it is never idle here.
    return requestsInFlight > 0 || ctx.pipeline().get("httpDecoder") == null;
  }

  private void idleFromNow(ChannelHandlerContext ctx) {
    if (busy(ctx) || !ctx.channel().isActive()) {
      return;
    }
    cancel();
    deadline = ctx.executor().schedule(() -> {
      deadline = null;
      if (!busy(ctx)) {
        ctx.channel().close();   // through the HTTP/2 codec, which sends GOAWAY(NO_ERROR)
      }
    }, timeoutNanos, TimeUnit.NANOSECONDS);
  }

  private void cancel() {
    if (deadline != null) {
      deadline.cancel(false);
      deadline = null;
    }
  }
}
