package io.muxgate.frontend;

import io.muxgate.config.ConfigException;
import io.muxgate.config.PemCertificates;
import io.muxgate.config.ProcessConfig;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.logging.Logger;
import io.vertx.core.internal.logging.LoggerFactory;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.SelfSignedCertificate;

import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.X509KeyManager;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;

/** The certificate of the TLS front end: the configured PEM pair, or a self-signed one made at start. */
public final class ServerCertificate {

  private static final Logger log = LoggerFactory.getLogger(ServerCertificate.class);
  /** The process's self-signed certificate, made on first use. */
  private static KeyCertOptions selfSigned;
  private static final String PKCS8_BEGIN = "-----BEGIN PRIVATE KEY-----";

  private ServerCertificate() {
  }

  /**
   * The front end's certificate. Blocks the first time without a configured pair: Netty makes the
   * self-signed one by running the JDK's {@code keytool}, seconds of a second JVM, so this is no call for
   * an event loop. The warm-up's proxy and origin and the real front end then share that one.
   */
  public static KeyCertOptions load(ProcessConfig config) {
    if (config.tlsCertFile() != null) {
      return new PemKeyCertOptions()
        .setCertPath(config.tlsCertFile().toString())
        .setKeyPath(config.tlsKeyFile().toString());
    }
    log.warn("tls.cert_file and tls.key_file are not set: serving https_port with a self-signed certificate");
    return selfSigned();
  }

  /**
   * The process's self-signed pair for {@code localhost}, made on first use (blocking, see {@link #load})
   * and shared: the front end, the warm-up's origin and the demo origin all serve it.
   */
  public static synchronized KeyCertOptions selfSigned() {
    if (selfSigned == null) {
      selfSigned = inMemory("localhost");
    }
    return selfSigned.copy();
  }

  /**
   * A new self-signed pair, held in memory. Netty writes it to two temporary files, which it would delete
   * only at a JVM exit that runs its hooks; Muxgate's stop ends with {@code Runtime.halt}, so every start
   * left a private key behind in the temporary folder. The files are read and deleted here instead.
   */
  private static PemKeyCertOptions inMemory(String host) {
    SelfSignedCertificate pair = SelfSignedCertificate.create(host);
    try {
      return new PemKeyCertOptions()
        .addCertValue(Buffer.buffer(Files.readAllBytes(Path.of(pair.certificatePath()))))
        .addKeyValue(Buffer.buffer(Files.readAllBytes(Path.of(pair.privateKeyPath()))));
    } catch (IOException e) {
      throw new UncheckedIOException("reading the self-signed certificate Netty just wrote", e);
    } finally {
      pair.delete();
    }
  }

  /**
   * Rejects a configured PEM pair that the front end could not load, as a config error naming the field,
   * the file and the reason. Without it a bad file surfaced twice and unnamed: first as a failed warm-up,
   * then as "failed to start" with the PEM parser's message alone. The certificate is checked as a zone's
   * origin CA is; the pair is then parsed by the same Vert.x code the listener uses, so what passes here
   * loads there.
   */
  public static void check(String configFile, ProcessConfig config) {
    Path cert = config.tlsCertFile();
    Path key = config.tlsKeyFile();
    if (cert == null) {
      return;
    }
    byte[] certPem = read(configFile, "tls.cert_file", cert);
    byte[] keyPem = read(configFile, "tls.key_file", key);
    String problem = PemCertificates.problem(cert, certPem);
    if (problem != null) {
      throw new ConfigException(configFile, "tls.cert_file", problem);
    }
    KeyManagerFactory keyManagers;
    try {
      keyManagers = new PemKeyCertOptions().addCertValue(Buffer.buffer(certPem)).addKeyValue(Buffer.buffer(keyPem))
        .getKeyManagerFactory(null);   // values, not paths: no Vert.x instance needed
    } catch (Exception e) {
      String unsupported = isEncrypted(keyPem) ? null : unsupportedAlgorithm(keyPem);
      throw new ConfigException(configFile, "tls.key_file", isEncrypted(keyPem)
        ? key + " is encrypted; Muxgate needs the key without a pass phrase (openssl pkey -in KEY -out PLAIN)"
        : unsupported != null ? key + " holds a private key of algorithm " + unsupported + ", which Muxgate does not"
          + " support (Vert.x reads RSA and EC keys only): use an RSA or EC key and its certificate"
        : key + " is not a PEM private key for " + cert + ": " + e.getMessage());
    }
    if (!keyFitsCertificate(keyManagers)) {
      // Loaded as it is, every TLS handshake would fail with an internal-error alert and nothing logged.
      throw new ConfigException(configFile, "tls.key_file",
        key + " is not the private key of the certificate in " + cert + " (was the certificate renewed with a new key?)");
    }
  }

  /**
   * Whether the pair's private key signs what the certificate's public key verifies. True when the key's
   * algorithm is one this check does not know: the handshake is then the judge.
   */
  private static boolean keyFitsCertificate(KeyManagerFactory factory) {
    for (KeyManager manager : factory.getKeyManagers()) {
      if (!(manager instanceof X509KeyManager x509)) {
        continue;
      }
      for (String type : new String[] {"RSA", "EC", "EdDSA", "Ed25519", "DSA"}) {
        String[] aliases = x509.getServerAliases(type, null);
        if (aliases == null || aliases.length == 0) {
          continue;
        }
        PrivateKey privateKey = x509.getPrivateKey(aliases[0]);
        X509Certificate[] chain = x509.getCertificateChain(aliases[0]);
        String algorithm = switch (privateKey.getAlgorithm()) {
          case "RSA" -> "SHA256withRSA";
          case "EC" -> "SHA256withECDSA";
          case "DSA" -> "SHA256withDSA";
          case "EdDSA", "Ed25519" -> "Ed25519";
          default -> null;
        };
        if (algorithm == null || chain == null || chain.length == 0) {
          return true;
        }
        try {
          byte[] probe = "muxgate key check".getBytes(StandardCharsets.US_ASCII);
          Signature signer = Signature.getInstance(algorithm);
          signer.initSign(privateKey);
          signer.update(probe);
          byte[] signature = signer.sign();
          Signature verifier = Signature.getInstance(algorithm);
          verifier.initVerify(chain[0].getPublicKey());
          verifier.update(probe);
          return verifier.verify(signature);
        } catch (GeneralSecurityException e) {
          return false;
        }
      }
    }
    return true;
  }

  /**
   * The algorithm of a well-formed PKCS#8 key that the front end cannot load (Ed25519, as {@code openssl genpkey
   * -algorithm ed25519} writes), or null: Vert.x's reader calls it only an "Unsupported algorithm identifier".
   */
  private static String unsupportedAlgorithm(byte[] keyPem) {
    String text = new String(keyPem, StandardCharsets.ISO_8859_1);
    int begin = text.indexOf(PKCS8_BEGIN);
    int end = begin < 0 ? -1 : text.indexOf("-----END PRIVATE KEY-----", begin);
    if (end < 0) {
      return null;
    }
    PKCS8EncodedKeySpec der;
    try {
      der = new PKCS8EncodedKeySpec(Base64.getMimeDecoder().decode(text.substring(begin + PKCS8_BEGIN.length(), end)));
    } catch (IllegalArgumentException notBase64) {
      return null;
    }
    for (String algorithm : new String[] {"Ed25519", "Ed448", "X25519", "X448", "DSA", "RSASSA-PSS"}) {
      try {
        KeyFactory.getInstance(algorithm).generatePrivate(der);
        return algorithm;
      } catch (GeneralSecurityException notThisOne) {
        // the next
      }
    }
    return null;
  }

  /** PKCS#8's ENCRYPTED PRIVATE KEY block, or a legacy one with a {@code Proc-Type: 4,ENCRYPTED} header. */
  private static boolean isEncrypted(byte[] keyPem) {
    String text = new String(keyPem, StandardCharsets.ISO_8859_1);
    return text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") || text.contains("Proc-Type: 4,ENCRYPTED");
  }

  private static byte[] read(String configFile, String field, Path file) {
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new ConfigException(configFile, field, "cannot read " + file + ": " + e.getMessage());
    }
  }
}
