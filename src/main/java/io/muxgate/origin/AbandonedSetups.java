package io.muxgate.origin;

import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;
import io.netty.util.AttributeKey;
import io.netty.util.NetUtil;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientConnection;
import io.vertx.core.internal.logging.Logger;
import io.vertx.core.internal.logging.LoggerFactory;
import io.vertx.core.net.SocketAddress;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.TreeSet;

/**
 * Closes the sockets that Vert.x still sets up for connection attempts the {@link OriginConnector} gave
 * up on at the setup deadline. Vert.x waits for an HTTP/2 origin's first SETTINGS, and for the answer to
 * the h2c Upgrade, as long as the socket stays open, and its connect cannot be cancelled: an origin that
 * accepted and said nothing kept one socket open per attempt until the pool closed.
 *
 * <p>Vert.x hands a socket over only once it is set up (its connector builds the pipeline itself, and
 * a client's connect handler runs once the connection is ready), so which attempt an unready socket
 * belongs to is not known. It is found by order instead, from the client's group of open sockets: attempts are numbered
 * as they begin, and a socket first seen unready when attempts up to N had begun belongs to one of those.
 * Once every attempt up to N has ended, a socket none of them took is abandoned and closed. An attempt
 * ends at its deadline at the latest, so this closes an abandoned socket at its own attempt's deadline,
 * or at worst one setup deadline later when newer attempts were running then. Nothing is looked at until
 * an attempt gives up: an origin that answers costs a counter and a set entry per connection.
 */
final class AbandonedSetups {

  private static final Logger log = LoggerFactory.getLogger(AbandonedSetups.class);
  /** On a socket first seen unready: the newest attempt begun by then. */
  private static final AttributeKey<Long> SEEN_UNREADY = AttributeKey.valueOf("muxgate.seenUnready");
  /** On a socket an attempt took, or that was closed unready: nothing more to do with it. */
  private static final AttributeKey<Boolean> SETTLED = AttributeKey.valueOf("muxgate.setupSettled");

  private final OriginPeer peer;
  private final PoolEvents events;
  /** The open sockets of each client the attempts go through. */
  private final List<ChannelGroup> sockets = new ArrayList<>();
  private final TreeSet<Long> running = new TreeSet<>();
  private long begun;
  /** Some attempt gave up, and an unready socket may be left: every attempt's end looks again. */
  private boolean looking;

  AbandonedSetups(OriginPeer peer, PoolEvents events) {
    this.peer = peer;
    this.events = events;
  }

  /** Looks after the sockets of {@code client} too. */
  synchronized void watch(HttpClientAgent client) {
    ChannelGroup open = ConnectionInternals.channelsOf(client);
    if (open == null) {
      log.warn("sockets of Vert.x's HTTP client out of reach: a connection to " + peer.address()
        + " not ready within the setup deadline keeps its socket open until the pool closes");
    } else {
      sockets.add(open);
    }
  }

  /** A connection attempt begins: its number, for {@link #took} or {@link #ended}. */
  synchronized long begin() {
    running.add(++begun);
    return begun;
  }

  /** Attempt {@code attempt} got {@code connection}, ready: its socket is no longer being set up. */
  void took(long attempt, HttpClientConnection connection) {
    Channel channel = ConnectionInternals.channelOf(connection);
    if (channel != null) {
      channel.attr(SETTLED).set(Boolean.TRUE);
    } else {
      stopWatching();
    }
    ended(attempt, false);
  }

  /** {@code connection} came ready after its attempt gave up, which closes it: counted as abandoned. */
  void cameLate(HttpClientConnection connection) {
    Channel channel = ConnectionInternals.channelOf(connection);
    if (channel != null && channel.attr(SETTLED).setIfAbsent(Boolean.TRUE) == null) {
      events.connectionAbandoned(peer);
    }
  }

  /**
   * Attempt {@code attempt} is over without a connection: it failed, or {@code gaveUp} at its deadline.
   * Closes the unready sockets no running attempt can still be waiting for.
   */
  void ended(long attempt, boolean gaveUp) {
    int closed = 0;
    synchronized (this) {
      running.remove(attempt);
      looking |= gaveUp;
      if (!looking) {
        return;
      }
      long oldestRunning = running.isEmpty() ? Long.MAX_VALUE : running.first();
      boolean unready = false;
      for (ChannelGroup open : sockets) {
        for (Channel channel : open) {
          if (channel.hasAttr(SETTLED)) {
            continue;
          }
          Long seen = channel.attr(SEEN_UNREADY).setIfAbsent(begun);
          if ((seen == null ? begun : seen) >= oldestRunning) {
            unready = true;
          } else if (channel.attr(SETTLED).setIfAbsent(Boolean.TRUE) == null) {
            SocketTuning.abort(channel);
            closed++;
          }
        }
      }
      looking = unready;
    }
    for (int i = 0; i < closed; i++) {
      events.connectionAbandoned(peer);
    }
  }

  /**
   * Whether a socket to one of {@code addresses} is open and not yet taken by any attempt: its TCP connect
   * (for TLS, its handshake too) is done, and the origin has yet to make it ready. Called at a setup's
   * deadline, before {@link #ended} closes such sockets. True when the sockets are out of reach ({@link
   * #watch}): then no socket can be told apart, and a setup that timed out is taken to have connected.
   */
  synchronized boolean unreadySocketTo(Collection<SocketAddress> addresses) {
    if (sockets.isEmpty()) {
      return true;
    }
    for (ChannelGroup open : sockets) {
      for (Channel channel : open) {
        if (!channel.hasAttr(SETTLED) && channel.remoteAddress() instanceof InetSocketAddress remote
          && addresses.stream().anyMatch(address -> sameEndpoint(remote, address))) {
          return true;
        }
      }
    }
    return false;
  }

  private static boolean sameEndpoint(InetSocketAddress remote, SocketAddress address) {
    String ip = address.hostAddress() != null ? address.hostAddress() : address.host();
    byte[] bytes = ip == null ? null : NetUtil.createByteArrayFromIpAddressString(ip);
    return remote.getPort() == address.port() && remote.getAddress() != null
      && Arrays.equals(bytes, remote.getAddress().getAddress());
  }

  /** Without the channel of a connection, its socket would pass for unready: no more closing then. */
  private synchronized void stopWatching() {
    if (!sockets.isEmpty()) {
      sockets.clear();
      log.warn("channel of an origin connection out of reach: unready sockets to " + peer.address()
        + " are left open until the pool closes");
    }
  }
}
