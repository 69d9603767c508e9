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
    return waiting - (long) opening * expectedCapacity;
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
    expectedCapacity = Math.max(1, origin.capacity);
    open.add(origin);
  }

  /** The origin's SETTINGS gave {@code origin} a new stream limit. */
  void capacityChanged(OriginConnection origin, long originLimit) {
    origin.capacity = OriginConnection.capacity(origin.protocol, originLimit, peer.maxStreams());
    expectedCapacity = Math.max(1, origin.capacity);
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
