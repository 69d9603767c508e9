package io.muxgate.frontend;

import io.muxgate.config.ConfigException;
import io.muxgate.config.ProcessConfig;
import io.muxgate.support.MuxgateProcess;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SelfSignedCertificate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A configured PEM pair that would not load is a config error naming the field, the file and the reason. */
class ServerCertificateTest {

  @TempDir
  Path dir;

  /** Two pairs for the whole class: each costs a run of keytool. */
  private static final SelfSignedCertificate pair = SelfSignedCertificate.create("localhost");
  private static final SelfSignedCertificate other = SelfSignedCertificate.create("localhost");

  /** Netty's temporary files would otherwise outlive the test JVM. */
  @AfterAll
  static void deletePairs() {
    pair.delete();
    other.delete();
  }

  @Test
  void aPairThatLoadsPasses() {
    assertDoesNotThrow(() -> check(Path.of(pair.certificatePath()), Path.of(pair.privateKeyPath())));
  }

  /**
   * HAProxy's {@code crt} takes one file holding the key and the certificate, and nginx accepts that file
   * as both its certificate and its key: the listener loads it, so the check must let it through.
   */
  @Test
  void oneFileHoldingTheKeyAndTheCertificateServesAsBoth() throws Exception {
    String cert = Files.readString(Path.of(pair.certificatePath()));
    String key = Files.readString(Path.of(pair.privateKeyPath()));
    Path keyFirst = Files.writeString(dir.resolve("key-first.pem"), key + cert);
    Path certFirst = Files.writeString(dir.resolve("cert-first.pem"), cert + key);

    assertDoesNotThrow(() -> check(keyFirst, keyFirst));
    assertDoesNotThrow(() -> check(certFirst, certFirst));
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

  /**
   * nginx asks for a pass phrase and HAProxy fails naming the key; the PEM parser's own words ("Missing
   * -----BEGIN PRIVATE KEY----- delimiter", "Illegal base64 character 2d") said neither that the key is
   * encrypted nor what to do. Both forms openssl writes: PKCS#8 and the legacy one with its Proc-Type header.
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {
    "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n",
    "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,8E1C07DD4E4B6F2BC1C7E1A3C6E3B0F1\n\n"
      + "MIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n"})
  void anEncryptedKeyIsRejectedAsEncrypted(String pem) throws Exception {
    Path encrypted = Files.writeString(dir.resolve("encrypted.key"), pem);

    ConfigException e = assertThrows(ConfigException.class, () -> check(Path.of(pair.certificatePath()), encrypted));

    assertEquals("tls.key_file", e.field());
    assertTrue(e.getMessage().contains(encrypted + " is encrypted"), e.getMessage());
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

  /**
   * Vert.x's PEM reader takes RSA and EC keys only: an Ed25519 key (openssl genpkey -algorithm ed25519) was
   * reported as "not a PEM private key ... Unsupported algorithm identifier", as if the file were damaged.
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"Ed25519", "Ed448"})
  void aKeyOfAnUnsupportedAlgorithmIsNamedAsSuch(String algorithm) throws Exception {
    String pkcs8 = Base64.getMimeEncoder(64, "\n".getBytes())
      .encodeToString(KeyPairGenerator.getInstance(algorithm).generateKeyPair().getPrivate().getEncoded());
    Path edKey = Files.writeString(dir.resolve("ed-key.pem"),
      "-----BEGIN PRIVATE KEY-----\n" + pkcs8 + "\n-----END PRIVATE KEY-----\n");

    ConfigException e = assertThrows(ConfigException.class, () -> check(Path.of(pair.certificatePath()), edKey));

    assertEquals("tls.key_file", e.field());
    assertTrue(e.getMessage().contains(edKey + " holds a private key of algorithm " + algorithm
      + ", which Muxgate does not support"),
      e.getMessage());
  }

  /** A certificate renewed with a new key but served with the old one: every handshake would fail. */
  @Test
  void aKeyOfTheSameAlgorithmFromAnotherCertificateIsRejected() {
    ConfigException e = assertThrows(ConfigException.class,
      () -> check(Path.of(pair.certificatePath()), Path.of(other.privateKeyPath())));

    assertEquals("tls.key_file", e.field());
    assertTrue(e.getMessage().contains("is not the private key of the certificate"), e.getMessage());
  }

  /**
   * Without a configured pair the front end serves a self-signed one, which Netty writes to the temporary
   * folder. A stop ends in {@code Runtime.halt}, which skips {@code deleteOnExit}: every start left a
   * private key there.
   */
  @Test
  @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aStoppedProcessLeavesNoSelfSignedKeyInItsTemporaryFolder() throws Exception {
    Path tmp = Files.createDirectory(dir.resolve("tmp"));
    try (MuxgateProcess muxgate = MuxgateProcess.start(List.of("-Djava.io.tmpdir=" + tmp), new JsonObject(), Map.of())) {
      muxgate.terminate();
      assertTrue(muxgate.process().waitFor(30, TimeUnit.SECONDS), "still running: " + muxgate.stderr);
      assertEquals(0, muxgate.process().exitValue(), "a clean stop: " + muxgate.stderr);
    }
    try (Stream<Path> left = Files.list(tmp)) {
      assertEquals(List.of(), left.map(p -> p.getFileName().toString()).toList());
    }
  }

  private void check(Path cert, Path key) {
    Path file = dir.resolve("muxgate.json");
    JsonObject json = new JsonObject().put("tls", new JsonObject()
      .put("cert_file", cert.toString()).put("key_file", key.toString()));
    ServerCertificate.check(file.toString(), ProcessConfig.fromJson(file, json, Map.of()));
  }
}
