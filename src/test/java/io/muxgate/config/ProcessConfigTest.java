package io.muxgate.config;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A bad muxgate.json stops the process with one line naming the file, the field and the reason. */
class ProcessConfigTest {

  @TempDir
  Path dir;

  private Path write(String text) throws IOException {
    return Files.writeString(dir.resolve("muxgate.json"), text);
  }

  private String error(String text) throws IOException {
    Path file = write(text);
    return assertThrows(ConfigException.class, () -> ProcessConfig.load(file, Map.of())).getMessage();
  }

  @Test
  void eachBadFieldIsNamedWithItsReason() throws IOException {
    Path file = dir.resolve("muxgate.json");
    assertEquals(file + ": http_port: must be 0..65535, got 70000", error("{\"http_port\": 70000}"));
    assertEquals(file + ": http_port: must be 0..65535, got 18446744073709584416",
      error("{\"http_port\": 18446744073709584416}"));
    assertEquals(file + ": http_prot: unknown field", error("{\"http_prot\": 8080}"));
    assertEquals(file + ": access_log: must be true or false", error("{\"access_log\": \"yes\"}"));
    assertEquals(file + ": config_scan_period_ms: must be 50..3600000, got 0", error("{\"config_scan_period_ms\": 0}"));
    assertEquals(file + ": warmup_s: must be 0..120, got 600", error("{\"warmup_s\": 600}"));
    assertEquals(file + ": client_idle_timeout_s: must be 1..3600, got 0", error("{\"client_idle_timeout_s\": 0}"));
    assertEquals(file + ": tls.key_file: cert_file and key_file go together",
      error("{\"tls\": {\"cert_file\": \"muxgate.json\"}}"));
    assertEquals(file + ": admin_token_file: cannot read " + dir.resolve("no-such-token") + " (no such file)",
      error("{\"admin_token_file\": \"no-such-token\"}"));
    assertEquals(file + ": tls.certfile: unknown field (cert_file and key_file are)",
      error("{\"tls\": {\"certfile\": \"c.pem\", \"keyfile\": \"k.pem\"}}"));
    assertEquals(file + ": the file is empty (\"{}\" takes every default)", error("\n"));
  }

  @Test
  void listenersThatWouldShareAPortAreRefused() throws IOException {
    Path file = dir.resolve("muxgate.json");
    assertEquals(file + ": admin_port: same port as http_port (9000) on the same address",
      error("{\"http_port\": 9000, \"admin_port\": 9000}"));
    assertEquals(file + ": admin_port: same port as https_port (9000) on the same address",
      error("{\"https_port\": 9000, \"admin_port\": 9000, \"bind\": \"127.0.0.1\"}"));
    assertEquals(file + ": https_port: same port as http_port (9000)",
      error("{\"http_port\": 9000, \"https_port\": 9000}"));
    Path separate = write("{\"http_port\": 9000, \"admin_port\": 9000, \"bind\": \"127.0.0.2\", "
      + "\"admin_bind\": \"127.0.0.1\"}");
    assertEquals(9000, ProcessConfig.load(separate, Map.of()).adminPort(), "different addresses may share a port");
  }

  @Test
  void aListenAddressThatIsNoAddressIsNamed() throws IOException {
    Path file = dir.resolve("muxgate.json");
    assertEquals(file + ": bind: must be an IP address or a host name, got \"999 1\"", error("{\"bind\": \"999 1\"}"));
    assertEquals(file + ": admin_bind: must be an IP address or a host name, got \"999.1.1.1\"",
      error("{\"admin_bind\": \"999.1.1.1\"}"));
    assertEquals("localhost", ProcessConfig.load(write("{\"bind\": \"localhost\"}"), Map.of()).bind());
    assertEquals("::1", ProcessConfig.load(write("{\"bind\": \"[::1]\"}"), Map.of()).bind());
  }

  @Test
  void invalidJsonNamesLineAndColumn() throws IOException {
    Path file = dir.resolve("muxgate.json");
    assertEquals(file + ": invalid JSON at line 2, column 1: unexpected end of input (truncated file?)",
      error("{\"http_port\": 8080,\n"));
  }

  @Test
  void missingFileIsNamed() {
    Path file = dir.resolve("absent.json");
    ConfigException e = assertThrows(ConfigException.class, () -> ProcessConfig.load(file, Map.of()));
    assertEquals(file + ": file not found", e.getMessage());
  }

  @Test
  void relativePathsResolveAgainstTheFilesFolderAndEnvSuppliesTheToken() throws IOException {
    Path file = write(new JsonObject().put("tenants_dir", "zones").encode());
    ProcessConfig config = ProcessConfig.load(file, Map.of("MUXGATE_ADMIN_TOKEN", "s3cret"));
    assertEquals(dir.resolve("zones"), config.tenantsDir());
    assertEquals("s3cret", config.adminToken());
  }

  @Test
  void helpPrintsTheUsageAndExitsZero() throws Exception {
    Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
      "-cp", System.getProperty("java.class.path"), "io.muxgate.Main", "--help")
      .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
      .start();
    assertTrue(process.waitFor(30, TimeUnit.SECONDS), "exits");
    String stdout = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

    assertEquals(0, process.exitValue());
    assertTrue(stdout.startsWith("usage: java -jar muxgate.jar [--conf PATH]"), stdout);
  }

  @Test
  void mainExitsNonZeroWithOneLineNamingFileFieldAndReason() throws Exception {
    Path file = write("{\"http_port\": 70000}");
    Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
      "-cp", System.getProperty("java.class.path"), "io.muxgate.Main", "--conf", file.toString())
      .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
      .start();
    assertTrue(process.waitFor(30, TimeUnit.SECONDS), "exits");
    String stderr = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    String stdout = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

    assertEquals(2, process.exitValue());
    assertEquals(List.of("muxgate: " + file + ": http_port: must be 0..65535, got 70000"), stderr.lines().toList());
    assertEquals("", stdout);
  }
}
