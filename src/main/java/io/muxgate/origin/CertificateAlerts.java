package io.muxgate.origin;

import io.netty.handler.ssl.OpenSslCertificateException;
import io.vertx.core.Vertx;
import io.vertx.core.net.TrustOptions;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import java.net.Socket;
import java.security.KeyStore;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertPathValidatorException.BasicReason;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.CertificateRevokedException;
import java.security.cert.X509Certificate;
import java.util.function.Function;

/**
 * Verifies an origin's certificate as the JDK's PKIX trust manager does, and has the handshake tell the
 * origin why it was refused (RFC 8446, section 6.2): {@code unknown_ca} for a chain to no trusted CA,
 * {@code bad_certificate} for one naming another host or otherwise invalid. Netty's OpenSSL engine knows
 * only the JDK's expired, not-yet-valid and revoked certificates, and sent {@code internal_error} for the
 * rest, which sent the origin's operator looking for a fault in the proxy. The exception keeps the JDK's
 * message and cause, so the 526 and its log line read as before.
 */
final class CertificateAlerts extends X509ExtendedTrustManager {

  /** OpenSSL's and BoringSSL's verify results (x509.h), which BoringSSL sends as unknown_ca. */
  private static final int X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20;
  /** Sent as bad_certificate. */
  private static final int X509_V_ERR_CERT_REJECTED = 28;

  private final X509ExtendedTrustManager verifier;

  private CertificateAlerts(X509ExtendedTrustManager verifier) {
    this.verifier = verifier;
  }

  /** Trusts what {@code trusted} trusts (the system's CAs when null), telling an origin refused why. */
  static TrustOptions options(TrustOptions trusted) {
    return new Options(trusted);
  }

  private record Options(TrustOptions trusted) implements TrustOptions {

    @Override
    public TrustOptions copy() {
      return new Options(trusted == null ? null : trusted.copy());
    }

    @Override
    public TrustManagerFactory getTrustManagerFactory(Vertx vertx) throws Exception {
      TrustManagerFactory pkix;
      if (trusted != null) {
        pkix = trusted.getTrustManagerFactory(vertx);
      } else {
        pkix = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        pkix.init((KeyStore) null);
      }
      for (TrustManager manager : pkix.getTrustManagers()) {
        if (manager instanceof X509ExtendedTrustManager extended) {
          return OneTrustManager.options(new CertificateAlerts(extended)).getTrustManagerFactory(vertx);
        }
      }
      throw new IllegalStateException("no X509ExtendedTrustManager from " + pkix.getAlgorithm());
    }

    /** None: a client trusts the same whatever name it indicates (servers map SNI names to managers). */
    @Override
    public Function<String, TrustManager[]> trustManagerMapper(Vertx vertx) {
      return null;
    }
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    withAlert(() -> verifier.checkServerTrusted(chain, authType, engine));
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    withAlert(() -> verifier.checkServerTrusted(chain, authType, socket));
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    withAlert(() -> verifier.checkServerTrusted(chain, authType));
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    verifier.checkClientTrusted(chain, authType, engine);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    verifier.checkClientTrusted(chain, authType, socket);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    verifier.checkClientTrusted(chain, authType);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return verifier.getAcceptedIssuers();
  }

  /** One of the verifier's checks of a server's chain. */
  private interface Check {
    void run() throws CertificateException;
  }

  /** Runs {@code check}; a refusal is thrown again with the alert the origin is to get ({@link #alerting}). */
  private static void withAlert(Check check) throws CertificateException {
    try {
      check.run();
    } catch (CertificateException e) {
      throw alerting(e);
    }
  }

  /**
   * The JDK's exception with the verification error that BoringSSL turns into the alert: a path that
   * could not be built ends at no trusted CA; any other refusal (the host not named, a bad signature) is
   * a bad certificate. Dates and revocation Netty already maps to their own alerts, so those pass as thrown.
   */
  private static CertificateException alerting(CertificateException e) {
    if (isDatedOrRevoked(e)) {
      return e;
    }
    // Said in words of its own: Netty replaces an exception whose message is the JDK's about a host name the
    // certificate does not carry with a plain one, whose alert is internal_error. The JDK's stays the cause.
    return causedBy(e, CertPathBuilderException.class)
      ? new OpenSslCertificateException("refused with unknown_ca", e, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY)
      : new OpenSslCertificateException("refused with bad_certificate", e, X509_V_ERR_CERT_REJECTED);
  }

  private static boolean isDatedOrRevoked(CertificateException e) {
    if (e instanceof CertificateExpiredException || e instanceof CertificateNotYetValidException
      || e instanceof CertificateRevokedException) {
      return true;
    }
    for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
      if (c instanceof CertPathValidatorException v && (v.getReason() == BasicReason.EXPIRED
        || v.getReason() == BasicReason.NOT_YET_VALID || v.getReason() == BasicReason.REVOKED)) {
        return true;
      }
    }
    return false;
  }

  private static boolean causedBy(Throwable t, Class<? extends Throwable> type) {
    for (Throwable c = t.getCause(); c != null; c = c.getCause()) {
      if (type.isInstance(c)) {
        return true;
      }
    }
    return false;
  }
}
