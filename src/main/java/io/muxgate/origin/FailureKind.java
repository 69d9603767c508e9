package io.muxgate.origin;

/**
 * Every way a request can fail at or before the origin, with the status the client sees, the reason
 * written to the {@code muxgate-error} header, and whether replaying it elsewhere is safe: the origin
 * provably never processed it, or it is idempotent and got no answer.
 */
public enum FailureKind {
  CONNECTION_REFUSED(521, "connection_refused", false),
  CONNECT_TIMEOUT(522, "connect_timeout", false),
  UNRESOLVABLE(523, "origin_unresolvable", false),
  UNREACHABLE(523, "origin_unreachable", false),
  READ_TIMEOUT(524, "read_timeout", false),
  /**
   * The origin took the connection (and its TLS handshake) but did not finish setting it up, with its
   * first SETTINGS or its answer to the h2c Upgrade, within the read timeout: it does not answer. No
   * request was sent, so another origin may take it; not a 522, which says the TCP connect failed.
   */
  SETUP_TIMEOUT(524, "setup_timeout", false),
  TLS_HANDSHAKE(525, "tls_handshake_failed", false),
  CERTIFICATE_INVALID(526, "certificate_invalid", false),
  RESET(520, "origin_reset", false),
  CLOSED(520, "origin_closed", false),
  INVALID_RESPONSE(520, "invalid_response", false),
  /** An HTTP/1.1 response in a transfer coding other than chunked, which the proxy does not decode. */
  UNSUPPORTED_TRANSFER_CODING(520, "unsupported_transfer_coding", false),
  /** A stream above a GOAWAY's last-stream-id, REFUSED_STREAM, or a stream never sent. */
  UNPROCESSED(520, "origin_unprocessed", true),
  /**
   * An idempotent request whose connection closed before any response byte, whether or not a GOAWAY
   * covered its stream. The origin may have processed it, but an idempotent request may be repeated
   * (RFC 9110 §9.2.2).
   */
  UNANSWERED(520, "origin_closed", true),
  REPLAY_BODY_TOO_LARGE(520, "replay_body_too_large", false),
  QUEUE_FULL(503, "origin_queue_full", false),
  /** Queued behind full connections for connect + read timeout: the origin is busy, not failing. */
  QUEUE_TIMEOUT(503, "origin_queue_timeout", false),
  /**
   * A WebSocket to an {@code h2c://} origin that did not take its HTTP/1.1 Upgrade as HTTP/1.1 (closed, or
   * answered in HTTP/2): an origin that speaks only HTTP/2, to which Muxgate carries no WebSocket. What
   * HAProxy answers when the server side cannot upgrade; a mismatch of capability, not an origin failing.
   */
  WEBSOCKET_UNSUPPORTED(502, "websocket_unsupported", false),
  /** The request's header list is over the origin's SETTINGS_MAX_HEADER_LIST_SIZE: it would refuse it. */
  HEADERS_TOO_LARGE_FOR_ORIGIN(431, "request_headers_too_large_for_origin", false);

  private final int status;
  private final String reason;
  private final boolean replaySafe;

  FailureKind(int status, String reason, boolean replaySafe) {
    this.status = status;
    this.reason = reason;
    this.replaySafe = replaySafe;
  }

  public int status() {
    return status;
  }

  public String reason() {
    return reason;
  }

  public boolean replaySafe() {
    return replaySafe;
  }

  /**
   * Failures of a request the origin had and handled badly (reset, closed, invalid, unanswered in time):
   * counted toward ejecting an origin that still takes connections, as Envoy's consecutive gateway
   * failures are. Not those a replay covers (a GOAWAY during a restart) nor the origin's own 5xx answers.
   */
  public boolean countsAgainstOrigin() {
    return this == RESET || this == CLOSED || invalidResponse() || this == READ_TIMEOUT;
  }

  /** The origin's response is not one the proxy can relay. */
  public boolean invalidResponse() {
    return this == INVALID_RESPONSE || this == UNSUPPORTED_TRANSFER_CODING;
  }

  /**
   * Failures that say the origin itself is unusable, as opposed to one request going wrong; all come
   * before a byte of the request is sent, so another origin may take it. A certificate that fails
   * verification is one: every request to that origin would get 526, and, failing at once, it would be
   * the origin with the fewest streams in flight, the one least-outstanding balancing picks.
   */
  public boolean ejectsOrigin() {
    return this == CONNECTION_REFUSED || this == CONNECT_TIMEOUT || this == SETUP_TIMEOUT || this == TLS_HANDSHAKE
      || this == CERTIFICATE_INVALID || this == UNRESOLVABLE || this == UNREACHABLE;
  }
}
