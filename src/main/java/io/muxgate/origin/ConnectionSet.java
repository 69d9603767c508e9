package io.muxgate.origin;

import io.netty.channel.EventLoop;

import java.util.ArrayList;
import java.util.List;

/**
 * The connections of one {@link OriginPool}, open and opening, and the rule of when another one opens:
 * only when the queued requests exceed what the connections being opened are expected to carry, which is
 * what keeps a 250-request burst at cap 100 to exactly 3 connections. Not thread-safe: the pool calls it
 * under its own lock.
 */
final class ConnectionSet {

  private final OriginPeer peer;
  private final List<OriginConnection> open = new ArrayList<>();
  private int opening;
  private int expectedCapacity;
  /** Streams a new HTTP/2 connection may be given in all, as learned by {@link #goAwayAfter}. */
  private long streamBudget = Long.MAX_VALUE;
  /** Streams the last connection cut by its origin's GOAWAY had served, -1 before any. */
  private long lastCutAfter = -1;

  ConnectionSet(OriginPeer peer) {
    this.peer = peer;
    this.expectedCapacity = peer.expectedCapacity();
  }

  /**
   * The connection a new stream goes to, or null if none has room: one of the requester's own event
   * loop first, as its streams run as frames, without a hop; {@code avoid} (the connection that refused
   * the request) only when no other can be had, opening included.
   */
  OriginConnection choose(EventLoop loop, OriginConnection avoid) {
    OriginConnection chosen = null;
    for (int i = 0, n = open.size(); i < n; i++) {
      OriginConnection c = open.get(i);
      if (c.hasRoom() && c != avoid) {
        if (c.context.nettyEventLoop() == loop) {
          chosen = c;
          break;
        }
        if (chosen == null) {
          chosen = c;
        }
      }
    }
    if (chosen == null && avoid != null && avoid.hasRoom() && !mayOpen() && opening == 0) {
      chosen = avoid;
    }
    return chosen;
  }

  /** Whether the zone's connection cap allows one more, counting those being opened. */
  boolean mayOpen() {
    return open.size() + opening < peer.maxConnections();
  }

  /** Whether {@code waiting} queued requests exceed what the connections being opened are expected to carry. */
  boolean needsAnother(int waiting) {
    return waiting > (long) opening * expectedCapacity && mayOpen();
  }

  /** How many queued requests the connections being opened are not expected to carry. */
  long beyondOpening(int waiting) {
    return waiting - carriedByOpening();
  }

  /** How many queued requests, the oldest, the connections being opened are expected to carry. */
  long carriedByOpening() {
    return (long) opening * expectedCapacity;
  }

  int opening() {
    return opening;
  }

  void openingStarted() {
    opening++;
  }

  void openingFailed() {
    opening--;
  }

  /** An opening connection is ready; its cap is what the next ones are expected to carry. */
  void opened(OriginConnection origin) {
    opening--;
    if (origin.isH2()) {
      origin.streamBudget = streamBudget;
    }
    expectedCapacity = expectedCapacity(origin);
    open.add(origin);
  }

  /** The origin's SETTINGS gave {@code origin} a new stream limit. */
  void capacityChanged(OriginConnection origin, long originLimit) {
    origin.capacity = OriginConnection.capacity(origin.protocol, originLimit, peer.maxStreams());
    expectedCapacity = expectedCapacity(origin);
  }

  private static int expectedCapacity(OriginConnection origin) {
    return (int) Math.max(1, Math.min(origin.capacity, origin.streamBudget));
  }

  /**
   * The origin ended {@code origin} with GOAWAY(NO_ERROR) after serving {@code served} streams. An origin
   * that ends each connection after so many requests (nginx's {@code keepalive_requests}, 1000 by default,
   * often lowered) refuses every stream of ours beyond them already in flight: at a low limit most of a full
   * connection's, each retried on a connection that then does the same, until the retries run out (a
   * black-box run through nginx at 10 saw 30 % of requests answered 520). HAProxy's {@code max-reuse} and
   * Envoy's {@code max_requests_per_connection} are set by hand for it; here two connections in a row cut
   * at the same count make it the budget of every connection from then on, which drains at it, before the
   * origin's GOAWAY has anything to refuse. A connection cut with nothing refused teaches nothing.
   */
  void goAwayAfter(OriginConnection origin, long served) {
    if (origin.leased <= served || served < 1) {
      return;
    }
    if (served != lastCutAfter) {
      lastCutAfter = served;
      return;
    }
    streamBudget = served;
    for (OriginConnection c : open) {
      if (c.isH2()) {
        c.streamBudget = served;
      }
    }
  }

  /**
   * {@code origin} was given its whole budget and the origin let it go idle without a GOAWAY: it no longer
   * ends connections at that count (a raised limit, or two cuts alike by chance, as a restart's), so new
   * connections are not limited until two cuts agree again.
   */
  void budgetNotKept(OriginConnection origin) {
    if (origin.streamBudget == streamBudget) {
      streamBudget = Long.MAX_VALUE;
      lastCutAfter = -1;
    }
  }

  void closed(OriginConnection origin) {
    open.remove(origin);
  }

  /** Whether some open connection still takes, or will take, new streams. */
  boolean anyUsable() {
    return open.stream().anyMatch(c -> !c.draining && !c.closing && !c.closed);
  }

  /** The open connections, for the pool to walk; not to be changed. */
  List<OriginConnection> open() {
    return open;
  }

  boolean isEmpty() {
    return open.isEmpty();
  }

  int size() {
    return open.size();
  }

  int activeStreams() {
    int sum = 0;
    for (OriginConnection c : open) {
      sum += c.active;
    }
    return sum;
  }
}
