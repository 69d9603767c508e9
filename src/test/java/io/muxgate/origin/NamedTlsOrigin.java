package io.muxgate.origin;

import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.PemKeyCertOptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An h2 origin over TLS on 127.0.0.1:0 whose self-signed certificate names only {@code name} (no IP
 * address), answering 200 "secure" (302 to the URL of a {@code location} query parameter; a WebSocket's messages with "secure " before them) and recording the
 * SNI each connection indicated and the authority of each request and WebSocket. The certificate
 * is written to a PEM file a zone can name as its {@code origin_ca_file}.
 */
final class NamedTlsOrigin implements AutoCloseable {

  private final HttpServer server;
  private final String name;
  private final Path certificateFile;
  private final List<String> indicatedNames = new CopyOnWriteArrayList<>();
  private final List<String> authorities = new CopyOnWriteArrayList<>();

  NamedTlsOrigin(Vertx vertx, String name) {
    this.name = name;
    X509Bundle bundle;
    try {
      Instant now = Instant.now();
      bundle = new CertificateBuilder()
        .subject("CN=" + name)
        .addSanDnsName(name)
        .notBefore(now.minus(1, ChronoUnit.DAYS))
        .notAfter(now.plus(1, ChronoUnit.DAYS))
        .ecp256()
        .setIsCertificateAuthority(true) // a self-signed trust anchor that also serves as the leaf
        .addExtendedKeyUsageServerAuth()
        .buildSelfSigned();
      certificateFile = Files.createTempFile("origin-ca", ".pem");
      certificateFile.toFile().deleteOnExit();
      Files.writeString(certificateFile, bundle.getCertificatePEM(), StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (Exception e) {
      throw new IllegalStateException("could not make the test certificate", e);
    }
    HttpServerOptions options = new HttpServerOptions().setHost("127.0.0.1").setPort(0)
      .setSsl(true).setUseAlpn(true).setSni(true)
      .setAlpnVersions(List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1))
      .setKeyCertOptions(new PemKeyCertOptions()
        .setKeyValue(Buffer.buffer(bundle.getPrivateKeyPEM()))
        .setCertValue(Buffer.buffer(bundle.getCertificatePEM())));
    server = vertx.createHttpServer(options)
      .connectionHandler(connection -> indicatedNames.add(String.valueOf(connection.indicatedServerName())))
      .requestHandler(request -> {
        authorities.add(String.valueOf(request.authority()));
        String location = request.getParam("location");
        if (location != null) {
          request.response().setStatusCode(302).putHeader("location", location);
        }
        request.response().end("secure");
      })
      .webSocketHandler(ws -> {
        authorities.add(String.valueOf(ws.authority()));
        ws.textMessageHandler(text -> ws.writeTextMessage("secure " + text));
      });
    server.listen().await();
  }

  String url() {
    return "https://127.0.0.1:" + server.actualPort();
  }

  Path certificateFile() {
    return certificateFile;
  }

  /** The SNI of every connection whose TLS handshake succeeded. */
  List<String> indicatedNames() {
    return indicatedNames;
  }

  /** The authority (Host or :authority) of every request and WebSocket handshake. */
  List<String> authorities() {
    return authorities;
  }

  /**
   * Asserts that every TLS handshake so far indicated this origin's name (and at least one took place),
   * and that every request came with the client's {@code authority}: no IP in either.
   */
  void assertOnlyNameSeen(String authority) {
    assertFalse(indicatedNames.isEmpty(), "no TLS handshake");
    assertTrue(indicatedNames.stream().allMatch(name::equals), "SNI seen: " + indicatedNames);
    assertTrue(authorities.stream().allMatch(a -> a.startsWith(authority)), "authorities seen: " + authorities);
  }

  int port() {
    return server.actualPort();
  }

  @Override
  public void close() {
    server.close().await();
  }
}
