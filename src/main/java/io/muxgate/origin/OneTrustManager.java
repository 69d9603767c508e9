package io.muxgate.origin;

import io.vertx.core.net.TrustOptions;

import javax.net.ssl.ManagerFactoryParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.TrustManagerFactorySpi;
import java.security.KeyStore;
import java.security.Provider;

/**
 * Vert.x options that hand the TLS stack one trust manager of Muxgate's own. (Through a factory, not the
 * manager itself: Vert.x 5.0's wrapper of a bare manager needs SLF4J, which Muxgate does not ship.)
 */
final class OneTrustManager {

  private OneTrustManager() {
  }

  static TrustOptions options(TrustManager manager) {
    return TrustOptions.wrap(new Factory(manager));
  }

  private static final class Factory extends TrustManagerFactory {

    Factory(TrustManager manager) {
      super(new Spi(manager), new Provider("muxgate", "1.0", "Muxgate's trust managers") { }, "muxgate-trust");
    }
  }

  private static final class Spi extends TrustManagerFactorySpi {

    private final TrustManager manager;

    Spi(TrustManager manager) {
      this.manager = manager;
    }

    @Override
    protected void engineInit(KeyStore keyStore) {
    }

    @Override
    protected void engineInit(ManagerFactoryParameters parameters) {
    }

    @Override
    protected TrustManager[] engineGetTrustManagers() {
      return new TrustManager[] {manager};
    }
  }
}
