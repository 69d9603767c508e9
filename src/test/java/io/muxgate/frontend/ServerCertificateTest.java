package io.muxgate.frontend;

import io.muxgate.config.ConfigException;
import io.muxgate.config.ProcessConfig;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SelfSignedCertificate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.util.Base64;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A configured PEM pair that would not load is a config error naming the field, the file and the reason. */
class ServerCertificateTest {

  @TempDir
  Path dir;

  private final SelfSignedCertificate pair = SelfSignedCertificate.create("localhost");

  @Test
  void aPairThatLoadsPasses() {
    assertDoesNotThrow(() -> check(Path.of(pair.certificatePath()), Path.of(pair.privateKeyPath())));
  }

  @Test
  void aCertificateFileWithoutACertificateIsTheCertFieldsFault() throws Exception {
    Path notCert = Files.writeString(dir.resolve("cert.pem"), "not a certificate\n");

    ConfigException e = assertThrows(ConfigException.class, () -> check(notCert, Path.of(pair.privateKeyPath())));

    assertEquals("tls.cert_file", e.field());
    assertTrue(e.getMessage().contains(notCert.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("muxgate.json"), "names the config file: " + e.getMessage());
  }

  @Test
  void aCertificateWithADamagedBodyIsTheCertFieldsFault() throws Exception {
    Path damaged = Files.writeString(dir.resolve("damaged.pem"),
      "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");

    ConfigException e = assertThrows(ConfigException.class, () -> check(damaged, Path.of(pair.privateKeyPath())));

    assertEquals("tls.cert_file", e.field());
    assertTrue(e.getMessage().contains("unreadable PEM certificate in " + damaged), e.getMessage());
  }

  @Test
  void aKeyFileHoldingTheCertificateIsTheKeyFieldsFault() {
    Path cert = Path.of(pair.certificatePath());

    ConfigException e = assertThrows(ConfigException.class, () -> check(cert, cert));

    assertEquals("tls.key_file", e.field());
    assertTrue(e.getMessage().contains("PRIVATE KEY"), "says which PEM block is missing: " + e.getMessage());
  }

  @Test
  void aKeyOfAnotherAlgorithmThanTheCertificateIsRejected() throws Exception {
    KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
    ec.initialize(256);
    String pkcs8 = Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(ec.generateKeyPair().getPrivate().getEncoded());
    Path ecKey = Files.writeString(dir.resolve("ec-key.pem"),
      "-----BEGIN PRIVATE KEY-----\n" + pkcs8 + "\n-----END PRIVATE KEY-----\n");

    ConfigException e = assertThrows(ConfigException.class, () -> check(Path.of(pair.certificatePath()), ecKey));

    assertEquals("tls.key_file", e.field());
    assertTrue(e.getMessage().contains(ecKey.toString()), e.getMessage());
  }

  /** A certificate renewed with a new key but served with the old one: every handshake would fail. */
  @Test
  void aKeyOfTheSameAlgorithmFromAnotherCertificateIsRejected() {
    SelfSignedCertificate other = SelfSignedCertificate.create("localhost");

    ConfigException e = assertThrows(ConfigException.class,
      () -> check(Path.of(pair.certificatePath()), Path.of(other.privateKeyPath())));

    assertEquals("tls.key_file", e.field());
    assertTrue(e.getMessage().contains("is not the private key of the certificate"), e.getMessage());
  }

  private void check(Path cert, Path key) {
    Path file = dir.resolve("muxgate.json");
    JsonObject json = new JsonObject().put("tls", new JsonObject()
      .put("cert_file", cert.toString()).put("key_file", key.toString()));
    ServerCertificate.check(file.toString(), ProcessConfig.fromJson(file, json, Map.of()));
  }
}
