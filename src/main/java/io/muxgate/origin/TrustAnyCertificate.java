package io.muxgate.origin;

import io.vertx.core.net.TrustOptions;

import javax.net.ssl.ManagerFactoryParameters;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.TrustManagerFactorySpi;
import javax.net.ssl.X509ExtendedTrustManager;
import java.net.Socket;
import java.security.KeyStore;
import java.security.Provider;
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

  /**
   * As Vert.x options. (A factory, not the manager itself: Vert.x 5.0's wrapper of a bare manager needs
   * SLF4J, which Muxgate does not ship.)
   */
  public static TrustOptions options() {
    return TrustOptions.wrap(new Factory());
  }

  private static final class Factory extends TrustManagerFactory {

    Factory() {
      super(new Spi(), new Provider("muxgate", "1.0", "trusts any certificate") { }, "muxgate-trust-any");
    }
  }

  private static final class Spi extends TrustManagerFactorySpi {

    @Override
    protected void engineInit(KeyStore keyStore) {
    }

    @Override
    protected void engineInit(ManagerFactoryParameters parameters) {
    }

    @Override
    protected TrustManager[] engineGetTrustManagers() {
      return new TrustManager[] {INSTANCE};
    }
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
