package io.muxgate.frontend;

import io.muxgate.config.ProcessConfig;
import io.muxgate.forward.Forwarder;
import io.muxgate.forward.HeldBytes;
import io.muxgate.forward.HeldResponseBytes;
import io.muxgate.forward.ZoneTable;
import io.muxgate.observe.ExchangeObserver;
import io.muxgate.observe.ProxyMetrics;
import io.muxgate.origin.OriginPools;
import io.muxgate.origin.RelayPipeline;
import io.muxgate.origin.SocketTuning;
import io.netty.channel.Channel;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.impl.Http1xServerConnection;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.impl.ConnectionBase;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One event loop's share of the front end: an HTTP server on each client port (Vert.x balances the
 * shared ports across instances) and its own reference to the current zone snapshot, swapped whole when
 * the config verticle publishes a new one.
 */
public final class ProxyVerticle extends VerticleBase {

  public static final String ZONES_ADDRESS = "muxgate.zones";
  public static final String APPLIED_ADDRESS = "muxgate.zones.applied";

  private final ProcessConfig config;
  private final KeyCertOptions keyCert;
  private final ExchangeObserver observer;
  private final ProxyMetrics metrics;
  private final OriginPools pools;
  private final HeldResponseBytes heldResponseBytes;
  private final HeldBytes heldUploadBytes;
  private final List<HttpServer> servers = new ArrayList<>();
  /** The listening channels this instance's servers opened (none if another instance's opened the ports). */
  private final List<Channel> listeners = new CopyOnWriteArrayList<>();
  private final AtomicInteger frontStreamConnections = new AtomicInteger();
  /** Client connections open now; touched on this verticle's event loop only. */
  private final Set<HttpConnection> connections = new HashSet<>();
  /** Completed once {@link #cut} has closed every client connection; null until it is called. */
  private Promise<Void> cut;
  private ZoneTable zones;
  private Forwarder forwarder;

  public ProxyVerticle(ProcessConfig config, KeyCertOptions keyCert, ZoneTable initial, ExchangeObserver observer,
                       ProxyMetrics metrics, OriginPools pools, HeldResponseBytes heldResponseBytes,
                       HeldBytes heldUploadBytes) {
    this.config = config;
    this.pools = pools;
    this.heldResponseBytes = heldResponseBytes;
    this.heldUploadBytes = heldUploadBytes;
    this.keyCert = keyCert;
    this.zones = initial;
    this.observer = observer;
    this.metrics = metrics;
  }

  @Override
  public Future<?> start() {
    vertx.eventBus().<ZoneTable>localConsumer(ZONES_ADDRESS, msg -> {
      ZoneTable next = msg.body();
      if (next.version() > zones.version()) {
        zones = next;
      }
      vertx.eventBus().send(APPLIED_ADDRESS, zones.version());
    });
    // Tells the config verticle this instance listens: it publishes no snapshot before all instances do.
    vertx.eventBus().send(APPLIED_ADDRESS, zones.version());
    forwarder = new Forwarder(() -> zones, observer, metrics, pools::upgrades, heldResponseBytes, heldUploadBytes);
    Handler<HttpConnection> connections = connection -> {
      this.connections.add(connection);
      if (connection instanceof ConnectionBase base) {
        // The socket's close, not the connection's: a connection that became a WebSocket tunnel
        // (toNetSocket) is never told it closed, and would stay in the set, tunnel and all, for good.
        base.channel().closeFuture().addListener(f -> closed(connection));
        UnclaimedAtStop.claimed(base.channel(), connection.isSsl() && connection instanceof Http1xServerConnection);
      } else {
        connection.closeHandler(v -> closed(connection));
      }
      RelayPipeline.install(connection);
      UnreadRequestLines.install(connection);
      IdleClients.install(connection, config.clientIdleTimeoutSeconds());
      if (FrontStreams.install(connection, forwarder)) {
        frontStreamConnections.incrementAndGet();
      }
    };
    HttpServer cleartext = AcceptHook.createHttpServer(vertx, FrontendOptions.cleartext(config), this::listening,
      UnclaimedAtStop::install, channel -> {
        H2cUpgradesWithBodies.install(channel);
        FirstBurstErrors.install(channel);
      })
      .connectionHandler(connections)
      .requestHandler(forwarder::handle)
      .invalidRequestHandler(forwarder::handleInvalid);
    HttpServer tls = AcceptHook.createHttpServer(vertx, FrontendOptions.tls(config, keyCert), this::listening,
      UnclaimedAtStop::install, FirstBurstErrors::install)
      .connectionHandler(connections)
      .requestHandler(forwarder::handle)
      .invalidRequestHandler(forwarder::handleInvalid);
    servers.add(cleartext);
    servers.add(tls);
    return Future.all(listen(cleartext, "http_port", config.httpPort()), listen(tls, "https_port", config.httpsPort()));
  }

  private void listening(Channel listener) {
    BacklogAtStop.install(listener);
    listeners.add(listener);
  }

  /** Listens, naming the setting, address and port in a failure ("Address already in use" alone names none). */
  public static Future<HttpServer> listen(HttpServer server, String setting, int port) {
    return server.listen().recover(e -> Future.failedFuture(new IllegalStateException(
      "cannot listen on " + setting + " " + port + ": " + e.getMessage(), e)));
  }

  /**
   * A graceful stop's first step: responses from now on close their connection, and the listeners this
   * instance opened close once they have accepted what the kernel held for them ({@link BacklogAtStop}).
   * Before any instance's {@link #drain}: Vert.x's shutdown closes a port's listener without accepting
   * what the kernel holds for it.
   */
  public Future<Void> stopAccepting(long timeoutSeconds) {
    forwarder.draining(System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds));
    List<Future<Void>> closed = new ArrayList<>();
    for (Channel listener : listeners) {
      closed.add(BacklogAtStop.close(listener));
    }
    return Future.join(closed).mapEmpty();
  }

  /** Stops accepting and lets in-flight requests finish within the drain timeout (clients get GOAWAY). */
  public Future<Void> drain(long timeoutSeconds) {
    Promise<Void> done = Promise.promise();
    forwarder.draining(System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds));
    context.runOnContext(v -> {
      List<Future<Void>> shutdowns = new ArrayList<>();
      for (HttpServer server : servers) {
        shutdowns.add(server.shutdown(timeoutSeconds, TimeUnit.SECONDS));
      }
      Future.join(shutdowns).<Void>mapEmpty().onComplete(done);
    });
    return done.future();
  }

  /**
   * Closes every client connection now, requests in flight included (they are logged as cut by the
   * stop): for a second stop signal, which should not wait for the drain.
   */
  public Future<Void> cut() {
    Promise<Void> done = Promise.promise();
    forwarder.draining(System.nanoTime());
    context.runOnContext(v -> {
      cut = done;
      if (connections.isEmpty()) {
        done.tryComplete();
      }
      new ArrayList<>(connections).forEach(ProxyVerticle::closeNow);
    });
    return done.future();
  }

  /**
   * Closes the socket itself: Vert.x's close of an HTTP/2 connection is Netty's graceful one, which with
   * streams open sends GOAWAY and waits for them, whatever its timeout.
   */
  private static void closeNow(HttpConnection connection) {
    if (connection instanceof ConnectionBase base) {
      SocketTuning.abort(base.channel());
    } else {
      connection.close();
    }
  }

  private void closed(HttpConnection connection) {
    connections.remove(connection);
    if (cut != null && connections.isEmpty()) {
      // Two turns later. The socket's close future completes inside Netty's close, which only then queues
      // the task that runs the channel's inactive event, where Vert.x and the front end tell the
      // connection's exchanges that it closed and they are logged. A turn queued from here runs before
      // that task; a stop at once would write out the access log without their lines.
      context.runOnContext(v -> context.runOnContext(w -> cut.tryComplete()));
    }
  }

  /** Client connections open now; read off this verticle's loop, a count it held a moment ago. */
  public int clientConnections() {
    return connections.size();
  }

  /** WebSocket tunnels open now: in flight for a stop, though no longer in their zone's count. */
  public int openTunnels() {
    return forwarder == null ? 0 : forwarder.openTunnels();
  }

  /** Client connections whose HTTP/2 streams the front end runs itself ({@link FrontStreams}). */
  public int frontStreamConnections() {
    return frontStreamConnections.get();
  }

  public int actualPort(boolean tls) {
    return servers.get(tls ? 1 : 0).actualPort();
  }
}
