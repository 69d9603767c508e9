package io.muxgate.origin;

import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.ssl.NotSslRecordException;
import io.vertx.core.VertxException;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.StreamResetException;

import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.security.cert.CertificateException;
import java.util.Locale;
import java.util.concurrent.TimeoutException;

/**
 * A failure talking to an origin, already classified. Vert.x and Netty exceptions are turned into one
 * of these by {@link #classify} at the origin boundary; nothing downstream inspects exceptions.
 */
public final class OriginFailure extends RuntimeException {

  /** Details of {@link FailureKind#UNPROCESSED}: a small fixed set, so they can label the replay counter. */
  static final String REFUSED_STREAM = "refused_stream";
  static final String GOAWAY = "goaway";
  /** The HTTP/2 stream was never created on the wire (refused locally, or its connection went first). */
  static final String NOT_SENT = "not_sent";
  /** Details of {@link FailureKind#UNANSWERED}: with or without a GOAWAY before the close. */
  static final String CLOSED_AFTER_GOAWAY = "closed_after_goaway";
  static final String CLOSED_BEFORE_RESPONSE = "closed_before_response";
  /** Without a GOAWAY, on a connection that had served no stream: an origin stopping, or failing. */
  static final String CLOSED_ON_NEW_CONNECTION = "closed_on_new_connection";

  static final int NO_STREAM = -1;
  private static final int MAX_CAUSE_CHARS = 300;

  private final FailureKind kind;
  private final String detail;

  public OriginFailure(FailureKind kind, String detail) {
    this(kind, detail, null);
  }

  public OriginFailure(FailureKind kind, String detail, Throwable cause) {
    super(kind.reason() + (detail == null ? "" : ": " + detail), cause, false, false);
    this.kind = kind;
    this.detail = detail;
  }

  public FailureKind kind() {
    return kind;
  }

  /** Whether the failure means the connection it happened on is closed or going away. */
  public boolean connectionGone() {
    return kind == FailureKind.CLOSED || kind == FailureKind.UNANSWERED || unprocessedOnGoneConnection();
  }

  /**
   * Whether the failure counts toward ejecting the origin: those of its {@link FailureKind#countsAgainstOrigin
   * kind}, and a new connection closed unanswered, which the replay hides from the client but not from the
   * origin's health (a reused one most likely raced an idle close, as one after a GOAWAY raced a stop).
   */
  public boolean countsAgainstOrigin() {
    return kind.countsAgainstOrigin() || kind == FailureKind.UNANSWERED && CLOSED_ON_NEW_CONNECTION.equals(detail);
  }

  /**
   * Whether the origin provably never processed the request and the connection it met is going away
   * (a stream above a GOAWAY's last-stream-id, or one never sent): another connection may take it.
   */
  public boolean unprocessedOnGoneConnection() {
    return kind == FailureKind.UNPROCESSED && !REFUSED_STREAM.equals(detail);
  }

  /** Whether the origin refused the stream (REFUSED_STREAM): it never processed it. */
  public boolean refusedStream() {
    return kind == FailureKind.UNPROCESSED && REFUSED_STREAM.equals(detail);
  }

  /** Whether the request never left the proxy: it may be sent elsewhere without counting as a replay. */
  public boolean neverSent() {
    return kind == FailureKind.UNPROCESSED && NOT_SENT.equals(detail);
  }

  /**
   * Why a replay happened, for the replay counter's {@code reason} label: {@code refused_stream} or
   * {@code goaway} for unprocessed requests, {@code closed_after_goaway}, {@code closed_before_response}
   * or {@code closed_on_new_connection} for unanswered idempotent ones, else the kind's reason (a connect failure
   * retried on another origin). Always one of a small fixed set.
   */
  public String replayReason() {
    return (kind == FailureKind.UNPROCESSED || kind == FailureKind.UNANSWERED) && detail != null
      ? detail : kind.reason();
  }

  /**
   * The reason with what the innermost cause says, for a log line: Vert.x wraps TLS failures in "Failed to
   * create SSL connection", and the JDK's path checks keep the specific problem (an expired certificate's
   * NotAfter) in their innermost exception. Cut short, as a TLS record dump can be long.
   */
  public String reasonWithCause() {
    Throwable innermost = this;
    while (innermost.getCause() != null && innermost.getCause() != innermost) {
      innermost = innermost.getCause();
    }
    String said = innermost.getMessage();
    if (said == null || innermost == this) {
      return getMessage();
    }
    return kind.reason() + ": " + (said.length() > MAX_CAUSE_CHARS ? said.substring(0, MAX_CAUSE_CHARS) + "..." : said);
  }

  /** Classifies a failure to open a connection to an origin; over TLS a close means the handshake failed. */
  public static OriginFailure ofConnect(Throwable t, boolean tls) {
    if (t instanceof OriginFailure f) {
      return f;
    }
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof CertificateException) {
        return new OriginFailure(FailureKind.CERTIFICATE_INVALID, c.getMessage(), t);
      }
    }
    if (t instanceof ConnectTimeoutException) {
      return new OriginFailure(FailureKind.CONNECT_TIMEOUT, t.getMessage(), t);
    }
    if (t instanceof UnknownHostException) {
      return new OriginFailure(FailureKind.UNRESOLVABLE, t.getMessage(), t);
    }
    if (t instanceof NoRouteToHostException || messageContains(t, "unreachable") || messageContains(t, "no route")) {
      return new OriginFailure(FailureKind.UNREACHABLE, t.getMessage(), t);
    }
    if (t instanceof ConnectException) {
      return new OriginFailure(FailureKind.CONNECTION_REFUSED, t.getMessage(), t);
    }
    if (t instanceof SSLHandshakeException && isCertificateProblem(t)) {
      return new OriginFailure(FailureKind.CERTIFICATE_INVALID, t.getMessage(), t);
    }
    if (t instanceof SSLException || t instanceof NotSslRecordException || isHandshakeTimeout(t)
      || (tls && (t instanceof HttpClosedException || t instanceof java.nio.channels.ClosedChannelException
      || messageContains(t, "closed")))) {
      return new OriginFailure(FailureKind.TLS_HANDSHAKE, t.getMessage(), t);
    }
    return classify(t);
  }

  /**
   * Classifies a failure to open a pooled connection. The pool hands out only ready connections, so one
   * that closed before it was ready carried no request: those waiting for it may go on another one. An
   * origin that stops listening resets the connections still in its accept queue this way.
   */
  static OriginFailure ofPoolConnect(Throwable t, boolean tls) {
    OriginFailure failure = ofConnect(t, tls);
    return failure.kind() == FailureKind.CLOSED ? new OriginFailure(FailureKind.UNPROCESSED, NOT_SENT, t) : failure;
  }

  /** Classifies a failure of a stream on an established connection. */
  public static OriginFailure classify(Throwable t) {
    if (t instanceof OriginFailure f) {
      return f;
    }
    if (t instanceof StreamResetException reset) {
      return reset.getCode() == Http2Error.REFUSED_STREAM.code()
        ? new OriginFailure(FailureKind.UNPROCESSED, REFUSED_STREAM, t)
        : new OriginFailure(FailureKind.RESET, "stream reset with code " + reset.getCode(), t);
    }
    if (t instanceof Http2Exception h2 && h2.error() == Http2Error.REFUSED_STREAM) {
      // Netty refused to open the stream locally (GOAWAY already received, or over the peer's limit).
      return new OriginFailure(FailureKind.UNPROCESSED, REFUSED_STREAM, t);
    }
    if (t instanceof HttpClosedException) {
      // Whether a GOAWAY makes this stream unprocessed depends on its id: see classifyStream.
      return new OriginFailure(FailureKind.CLOSED, t.getMessage(), t);
    }
    if (t instanceof TimeoutException) {
      return new OriginFailure(FailureKind.READ_TIMEOUT, t.getMessage(), t);
    }
    if (t instanceof VertxException && messageContains(t, "connection was closed")) {
      return new OriginFailure(FailureKind.CLOSED, t.getMessage(), t);
    }
    if (isLateHandshakeFailure(t)) {
      return new OriginFailure(FailureKind.TLS_HANDSHAKE, t.getMessage(), t);
    }
    if (t instanceof java.io.IOException) {
      return new OriginFailure(FailureKind.CLOSED, t.getMessage(), t);
    }
    return new OriginFailure(FailureKind.INVALID_RESPONSE, String.valueOf(t), t);
  }

  /**
   * A TLS 1.3 server refuses a client certificate (one it requires, or one it does not trust) after the
   * client's side of the handshake is done: the alert arrives on the connection's first read, which for
   * an HTTP/1.1 origin belongs to the first request. It is still the handshake that failed.
   */
  private static boolean isLateHandshakeFailure(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof SSLHandshakeException
        || c instanceof SSLException && (messageContains(c, "certificate") || messageContains(c, "handshake"))) {
        return true;
      }
    }
    return false;
  }

  /**
   * Classifies a failure of a stream on an established connection with what the connection knows.
   * Vert.x fails every stream that closes after a GOAWAY, sent or received, with the same
   * {@link HttpClosedException}; only a received GOAWAY whose last-stream-id is below the stream's id
   * proves the origin never processed it (RFC 9113 §6.8). A stream at or below it was accepted: if the
   * connection then closes before any byte of its response, the origin may have processed it (a close
   * with requests still unread becomes a TCP reset, which can lose its last answers), so only an
   * idempotent request is repeated. Without a GOAWAY, a connection that already served a stream and
   * closes before any byte of this response most likely raced an idle close at the origin, but it may
   * as well have been an origin that processed the request and died: again only an idempotent request
   * is repeated, as RFC 9110 §9.2.2 asks of a proxy. So is one on a new connection: an origin that
   * stops while the proxy opens it closes it so, its GOAWAY lost to the reset its unread requests
   * cause, and nginx's default {@code proxy_next_upstream error} sends such a request on as well.
   *
   * @param streamId the HTTP/2 stream's id, {@link #NO_STREAM} if it was never created on the wire, or
   *                 0 when not applicable (HTTP/1.1)
   * @param goAwayLastStreamId last-stream-id of the origin's latest GOAWAY, or -1 if none arrived
   * @param reused the connection had completed a stream before this one was given to it
   * @param responseStarted any byte of the response arrived
   * @param idempotent the request's method is idempotent (RFC 9110 §9.2.2)
   */
  static OriginFailure classifyStream(Throwable t, int streamId, int goAwayLastStreamId, boolean reused,
                                      boolean responseStarted, boolean idempotent) {
    OriginFailure failure = classify(t);
    if (streamId == NO_STREAM
      && (failure.kind() == FailureKind.UNPROCESSED || failure.kind() == FailureKind.CLOSED)) {
      return new OriginFailure(FailureKind.UNPROCESSED, NOT_SENT, t);
    }
    if (failure.kind() != FailureKind.CLOSED) {
      return failure;
    }
    // The last-stream-id comes from the connection, not HttpClosedException.goAway(): in Vert.x 5.0.10
    // that copies the GOAWAY's debug data, which Netty has already released, and throws.
    if (goAwayLastStreamId != OriginConnection.NO_GOAWAY) {
      if (streamId > goAwayLastStreamId) {
        return new OriginFailure(FailureKind.UNPROCESSED, GOAWAY, t);
      }
      return !responseStarted && idempotent
        ? new OriginFailure(FailureKind.UNANSWERED, CLOSED_AFTER_GOAWAY, t)
        : new OriginFailure(FailureKind.CLOSED, "closed after GOAWAY", t);
    }
    if (!responseStarted && idempotent) {
      return new OriginFailure(FailureKind.UNANSWERED, reused ? CLOSED_BEFORE_RESPONSE : CLOSED_ON_NEW_CONNECTION, t);
    }
    return failure;
  }

  private static boolean isCertificateProblem(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof CertificateException || messageContains(c, "certificate")
        || messageContains(c, "subject alternative") || messageContains(c, "path building")
        || messageContains(c, "unable to find valid certification path")) {
        return true;
      }
    }
    return false;
  }

  private static boolean isHandshakeTimeout(Throwable t) {
    return messageContains(t, "handshake timed out");
  }

  private static boolean messageContains(Throwable t, String fragment) {
    String m = t.getMessage();
    return m != null && m.toLowerCase(Locale.ROOT).contains(fragment);
  }
}
