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
import io.vertx.core.spi.transport.Transport;

import java.util.function.Consumer;

/**
 * An HTTP server that shows each accepted channel to a hook once Vert.x has built its pipeline, before
 * a byte is read (over TLS: after the handshake, before a byte behind it). The server's connection
 * handler comes too late for some things: on a cleartext port Vert.x calls it only after it has judged
 * the first request, an h2c Upgrade it answered 101 included. A second hook sees the channel as it is
 * accepted, before Vert.x's pipeline (its TLS handler included) is there.
 * Vert.x offers no such hooks, so the server is given a Vert.x whose TCP server runs the first after its
 * own set-up, and whose transport ({@link AcceptingTransport}) the second before it.
 */
final class AcceptHook extends VertxWrapper {

  private final Consumer<Channel> hook;
  private final Transport transport;

  private AcceptHook(VertxInternal vertx, Consumer<Channel> listening, Consumer<Channel> accepted,
                     Consumer<Channel> hook) {
    super(vertx);
    this.hook = hook;
    this.transport = new AcceptingTransport(vertx.transport(), listening, accepted);
  }

  /**
   * {@code vertx.createHttpServer(options)}, with {@code accepted} run on the event loop of each accepted
   * channel before Vert.x sets it up, and {@code hook} once it has; {@code listening} is shown the
   * listening channel, if this server is the one of its port that opens it (Vert.x shares a port's
   * listener among the servers of all event loops).
   */
  static HttpServer createHttpServer(Vertx vertx, HttpServerOptions options, Consumer<Channel> listening,
                                     Consumer<Channel> accepted, Consumer<Channel> hook) {
    return new HttpServerImpl(new AcceptHook((VertxInternal) vertx, listening, accepted, hook), options);
  }

  @Override
  public Transport transport() {
    return transport;
  }

  @Override
  public NetServerInternal createNetServer(NetServerOptions options) {
    // What the wrapped Vert.x does, with the HTTP server's set-up of each socket followed by the hook, and
    // this Vert.x's transport binding it.
    return new NetServerImpl(this, options.copy()) {
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
