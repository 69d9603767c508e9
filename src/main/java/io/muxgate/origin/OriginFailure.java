package io.muxgate.origin;

import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.codec.http2.Http2Error;
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

  private final FailureKind kind;

  public OriginFailure(FailureKind kind, String detail) {
    this(kind, detail, null);
  }

  public OriginFailure(FailureKind kind, String detail, Throwable cause) {
    super(kind.reason() + (detail == null ? "" : ": " + detail), cause, false, false);
    this.kind = kind;
  }

  public FailureKind kind() {
    return kind;
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

  /** Classifies a failure of a stream on an established connection. */
  public static OriginFailure classify(Throwable t) {
    if (t instanceof OriginFailure f) {
      return f;
    }
    if (t instanceof StreamResetException reset) {
      return reset.getCode() == Http2Error.REFUSED_STREAM.code()
        ? new OriginFailure(FailureKind.UNPROCESSED, "refused stream", t)
        : new OriginFailure(FailureKind.RESET, "stream reset with code " + reset.getCode(), t);
    }
    if (t instanceof HttpClosedException closed) {
      return closed.goAway() != null
        ? new OriginFailure(FailureKind.UNPROCESSED, "stream above GOAWAY last-stream-id", t)
        : new OriginFailure(FailureKind.CLOSED, t.getMessage(), t);
    }
    if (t instanceof TimeoutException) {
      return new OriginFailure(FailureKind.READ_TIMEOUT, t.getMessage(), t);
    }
    if (t instanceof VertxException && messageContains(t, "connection was closed")) {
      return new OriginFailure(FailureKind.CLOSED, t.getMessage(), t);
    }
    if (t instanceof java.io.IOException) {
      return new OriginFailure(FailureKind.CLOSED, t.getMessage(), t);
    }
    return new OriginFailure(FailureKind.INVALID_RESPONSE, String.valueOf(t), t);
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
