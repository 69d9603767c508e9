package io.muxgate.testing;

import io.netty.handler.codec.http2.Http2SecurityUtil;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * A self-signed certificate for "localhost" / 127.0.0.1, made in-process with netty-pkitesting
 * (BouncyCastle underneath), and a server SslContext that offers only ALPN "h2". One instance is
 * shared per JVM: creating it costs about a second the first time.
 */
final class SelfSignedTls {

    private final X509Bundle bundle;
    private final SslContext serverContext;

    /** Lazily created on first use (holder idiom), so cleartext-only test runs never pay for it. */
    private static final class Shared {
        static final SelfSignedTls INSTANCE = new SelfSignedTls();
    }

    static SelfSignedTls shared() {
        return Shared.INSTANCE;
    }

    private SelfSignedTls() {
        try {
            Instant now = Instant.now();
            bundle = new CertificateBuilder()
                    .subject("CN=localhost")
                    .addSanDnsName("localhost")
                    .addSanIpAddress("127.0.0.1")
                    .notBefore(now.minus(1, ChronoUnit.DAYS))
                    .notAfter(now.plus(1, ChronoUnit.DAYS))
                    .ecp256()
                    // netty-pkitesting only self-signs CA certificates; clients still accept it as a leaf.
                    .setIsCertificateAuthority(true)
                    .addExtendedKeyUsageServerAuth()
                    .buildSelfSigned();
            // OpenSSL (tcnative BoringSSL) when it loads; the JDK provider also does ALPN on Java 17.
            SslProvider provider = SslProvider.isAlpnSupported(SslProvider.OPENSSL) ? SslProvider.OPENSSL
                    : SslProvider.JDK;
            serverContext = SslContextBuilder
                    .forServer(bundle.getKeyPair().getPrivate(), bundle.getCertificatePath())
                    .sslProvider(provider)
                    .ciphers(Http2SecurityUtil.CIPHERS, SupportedCipherSuiteFilter.INSTANCE)
                    .applicationProtocolConfig(new ApplicationProtocolConfig(
                            ApplicationProtocolConfig.Protocol.ALPN,
                            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                            ApplicationProtocolNames.HTTP_2))
                    .build();
        } catch (Exception e) {
            throw new IllegalStateException("Could not create the test certificate", e);
        }
    }

    SslContext serverContext() {
        return serverContext;
    }

    String certificatePem() {
        return bundle.getCertificatePEM();
    }

    Path writeCertificatePem() {
        try {
            Path file = Files.createTempFile("fault-origin-cert", ".pem");
            file.toFile().deleteOnExit();
            Files.writeString(file, certificatePem(), StandardCharsets.US_ASCII);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
