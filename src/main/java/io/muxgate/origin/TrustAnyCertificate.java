package io.muxgate.origin;

import io.vertx.core.net.TrustOptions;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import java.net.Socket;
import java.security.cert.X509Certificate;

/**
 * Trusts any certificate, for origins with {@code origin_tls_verify: false} and the warm-up's loopback
 * connections. Vert.x's own trust-all manager is a plain X509TrustManager, which Netty's OpenSSL client
 * refuses once it cannot turn it into an extended one (it does so through JDK internals that Java 25
 * closes): every TLS origin connection then failed with "unable to setup trustmanager", a 525.
 */
public final class TrustAnyCertificate extends X509ExtendedTrustManager {

  private static final TrustAnyCertificate INSTANCE = new TrustAnyCertificate();

  private TrustAnyCertificate() {
  }

  /** As Vert.x options. */
  public static TrustOptions options() {
    return OneTrustManager.options(INSTANCE);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) {
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) {
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return new X509Certificate[0];
  }
}
