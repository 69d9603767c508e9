package io.muxgate.support;

import io.muxgate.frontend.ServerCertificate;
import io.vertx.core.net.PemKeyCertOptions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The process's self-signed pair written where a test wants PEM files, such as its {@code @TempDir}, so
 * nothing is left in the system's temporary folder.
 */
public final class SelfSignedFiles {

  private SelfSignedFiles() {
  }

  /** Writes the certificate to {@code file} and returns it. */
  public static Path certificate(Path file) throws IOException {
    PemKeyCertOptions pair = (PemKeyCertOptions) ServerCertificate.selfSigned();
    return Files.write(file, pair.getCertValues().get(0).getBytes());
  }
}
