package io.muxgate.forward;

import io.muxgate.config.OriginAddress;
import io.muxgate.origin.OriginFailure;

import java.util.ArrayList;
import java.util.List;

/**
 * The attempts of one {@link Exchange} after its first: whether a failed attempt is tried again, and the
 * origin each earlier attempt went to, for the access log. Made at the exchange's first failure that may
 * be tried again, so a request that needs no second attempt never has one.
 */
final class Retries {

  private static final int MAX_REPLAYS = 1;
  /**
   * Bounds tries after failures that prove the origin never processed the request and retire the
   * connection they met (above a GOAWAY's last-stream-id, never sent).
   */
  private static final int MAX_ATTEMPTS = 4;

  private final Forwarder forwarder;
  private final Zone zone;
  /** Replays after REFUSED_STREAM. */
  private int refusedReplays;
  /**
   * Replays of an idempotent request left unanswered by a close, which the origin may have processed: the
   * only replays that may repeat work. Tries a GOAWAY or a refusal cost do not count here: during an origin
   * restart a request can meet a GOAWAY on one connection and then a close on the next.
   */
  private int unansweredReplays;
  /** Attempts moved to another origin after a connect or certificate failure: at most one per other origin. */
  private int failovers;
  /** The origin of each attempt before the current one; null until a second attempt. */
  private List<OriginAddress> originsTried;

  Retries(Forwarder forwarder, Zone zone) {
    this.forwarder = forwarder;
    this.zone = zone;
  }

  /**
   * Whether attempt number {@code attempts}, which failed with {@code failure} (safe to replay, or a
   * {@code failover} to another of the route's {@code origins} in balancing), is tried once more; one that
   * is counts as a replay, in the metrics too, unless its stream never reached the wire.
   */
  boolean allow(OriginFailure failure, boolean failover, int attempts, int origins) {
    // A refused stream is tried once more, and so, on its own count, is an unanswered idempotent request:
    // an origin that dies on a request must not get it on every pooled connection in turn. Where the
    // connection went away with the request provably unprocessed (it is retired, so the next try lands
    // elsewhere) up to MAX_ATTEMPTS: during an origin restart a GOAWAY can race on each connection in
    // turn. A stream that never reached the wire is not a replay. A failover goes on to each other origin
    // in balancing in turn (the failed ones are ejected, so the next pick avoids them): with two of three
    // origins down, a request that meets both still reaches the third.
    if (!(failover ? failovers < origins - 1
      : failure.unprocessedOnGoneConnection() ? attempts < MAX_ATTEMPTS
      : failure.refusedStream() ? refusedReplays < MAX_REPLAYS : unansweredReplays < MAX_REPLAYS)) {
      return false;
    }
    if (failover) {
      failovers++;
    } else if (failure.refusedStream()) {
      refusedReplays++;
    } else if (!failure.unprocessedOnGoneConnection()) {
      unansweredReplays++;
    }
    if (failover || !failure.neverSent()) {
      forwarder.replayed(zone, failure);
    }
    return true;
  }

  /** A new attempt leaves {@code origin}, the previous one's. */
  void leaving(OriginAddress origin) {
    if (originsTried == null) {
      originsTried = new ArrayList<>(MAX_ATTEMPTS - 1);
    }
    originsTried.add(origin);
  }

  List<OriginAddress> originsTried() {
    return originsTried;
  }
}
