package io.muxgate.frontend;

import io.netty.channel.Channel;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.impl.HttpServerImpl;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.internal.VertxWrapper;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.impl.ConnectionBase;
import io.vertx.core.net.impl.NetServerImpl;
import io.vertx.core.net.impl.NetServerInternal;

import java.util.function.Consumer;

/**
 * An HTTP server that shows each accepted channel to a hook once Vert.x has built its pipeline, before
 * a byte is read (over TLS: after the handshake, before a byte behind it). The server's connection
 * handler comes too late for some things: on a cleartext port Vert.x calls it only after it has judged
 * the first request, an h2c Upgrade it answered 101 included.
 * Vert.x offers no such hook, so the server is given a Vert.x whose TCP server runs it after its own.
 */
final class AcceptHook extends VertxWrapper {

  private final Consumer<Channel> hook;

  private AcceptHook(VertxInternal vertx, Consumer<Channel> hook) {
    super(vertx);
    this.hook = hook;
  }

  /** {@code vertx.createHttpServer(options)}, with {@code hook} run on the event loop of each accepted channel. */
  static HttpServer createHttpServer(Vertx vertx, HttpServerOptions options, Consumer<Channel> hook) {
    return new HttpServerImpl(new AcceptHook((VertxInternal) vertx, hook), options);
  }

  @Override
  public NetServerInternal createNetServer(NetServerOptions options) {
    // What the wrapped Vert.x does, with the HTTP server's set-up of each socket followed by the hook.
    return new NetServerImpl(delegate, options.copy()) {
      @Override
      public synchronized NetServerInternal connectHandler(Handler<NetSocket> setUp) {
        return super.connectHandler(setUp == null ? null : socket -> {
          setUp.handle(socket);
          hook.accept(((ConnectionBase) socket).channel());
        });
      }
    };
  }
}
