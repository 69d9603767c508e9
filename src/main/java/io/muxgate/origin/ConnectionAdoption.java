package io.muxgate.origin;

import io.netty.channel.Channel;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.vertx.core.http.HttpClientConnection;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.logging.Logger;
import io.vertx.core.internal.logging.LoggerFactory;

/**
 * How a connection its {@link OriginConnector} made ready joins an {@link OriginPool}: its protocol and
 * stream cap, the handlers its socket gets, and which of its events take it out of service (GOAWAY,
 * shutdown, an HTTP/1.1 response that closes it, bytes nobody asked for), change its cap (the origin's
 * SETTINGS) or remove it (its close).
 */
final class ConnectionAdoption {

  /** Under the pool's name, which operators' log settings already know. */
  private static final Logger log = LoggerFactory.getLogger(OriginPool.class);
  /** The {@code protocol} label of an HTTP/1.1 origin connection. */
  static final String HTTP_1_1 = "http/1.1";

  private final OriginPool pool;
  private final OriginPeer peer;
  private final IdleConnections idle;

  ConnectionAdoption(OriginPool pool, OriginPeer peer, IdleConnections idle) {
    this.pool = pool;
    this.peer = peer;
    this.idle = idle;
  }

  /** Wraps {@code connection} for the pool, its handlers installed; called from its connect's completion. */
  OriginConnection adopt(HttpClientConnection connection) {
    boolean h2 = OriginConnector.isH2(connection);
    String protocol = h2 ? "h2" : HTTP_1_1;
    long originLimit = h2 ? connection.remoteSettings().getMaxConcurrentStreams() : 1;
    // Completion callbacks run on the context connect() was called from, which owns the channel.
    ContextInternal context = ContextInternal.current();
    Channel channel = ConnectionInternals.channelOf(connection);
    SocketTuning.applyKeepAlive(channel);
    RelayPipeline.install(channel);
    OriginConnection origin = new OriginConnection(connection, channel,
      h2 ? ConnectionInternals.http2Of(channel) : null, h2 ? ConnectionInternals.frameStreamsOf(channel) : null,
      context, protocol, OriginConnection.capacity(protocol, originLimit, peer.maxStreams()));
    if (h2 && origin.frames == null) {
      ReadPastWriteErrors.install(channel, () -> pool.drain(origin));
    }
    Http2ConnectionHandler codec = h2 ? ConnectionInternals.http2CodecOf(channel) : null;
    if (codec != null) {
      LateFrames.install(codec);
      EndingFrames.install(codec);
    }
    if (!h2) {
      IdenticalContentLengths.accept(channel);
      HeapBodies.install(channel, "handler");
      ClosingResponses.watch(channel, () -> pool.drain(origin), seconds -> idle.originAnnounced(origin, seconds));
      SurplusBytes.watch(channel, peer, () -> pool.drain(origin));
    }
    connection.closeHandler(v -> pool.closed(origin));
    // Each stream gets the failure too and classifies it; unhandled, Vert.x logs every one as SEVERE.
    connection.exceptionHandler(e -> log.debug("origin " + peer.address() + " connection error: " + e));
    connection.shutdownHandler(v -> pool.drain(origin));
    if (origin.isH2()) {
      // Runs on the connection's loop before Vert.x fails the streams above last-stream-id.
      connection.goAwayHandler(goAway -> {
        origin.firstGoAwayLastStreamId = goAway.getLastStreamId();
        pool.goAwayReceived(origin, goAway.getLastStreamId(), goAway.getErrorCode());
        ConnectionInternals.release(goAway);
      });
      connection.remoteSettingsHandler(settings -> pool.settingsChanged(origin, settings));
    }
    return origin;
  }
}
