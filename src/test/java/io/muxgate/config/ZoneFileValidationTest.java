package io.muxgate.config;

import io.muxgate.support.SelfSignedFiles;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every way a zone file can be wrong yields one line naming the file (relative to the conf folder), the
 * JSON path of the field and the reason, as an operator reads it in the log.
 */
class ZoneFileValidationTest {

  @TempDir
  Path conf;
  private Path tenants;

  @BeforeEach
  void setUp() throws IOException {
    tenants = Files.createDirectories(conf.resolve("tenants"));
  }

  private static JsonObject shop() {
    return new JsonObject()
      .put("zone", "shop")
      .put("hosts", List.of("shop.test", "www.shop.test"))
      .put("origins", List.of("h2c://127.0.0.1:8080"))
      .put("settings", new JsonObject().put("origin_h2_max_streams", 100));
  }

  /** The message a file named shop.json with this content is rejected with. */
  private String rejection(String text) {
    ZoneCatalog catalog = new ZoneCatalog(tenants, List.of());
    List<ConfigException> rejected = catalog.apply(Map.of("shop.json", text), true).rejected();
    assertEquals(1, rejected.size(), "rejections " + rejected);
    return rejected.get(0).getMessage();
  }

  private String rejection(JsonObject zone) {
    return rejection(zone.encodePrettily());
  }

  @Test
  void truncatedFileNamesLineAndColumn() {
    String whole = shop().encodePrettily();
    String truncated = whole.substring(0, whole.indexOf("\"settings\""));
    assertEquals("tenants/shop.json: invalid JSON at line 5, column 3: unexpected end of input (truncated file?)",
      rejection(truncated));
  }

  @Test
  void syntaxErrorNamesLineColumnAndWhatWasExpected() {
    assertEquals("tenants/shop.json: invalid JSON at line 2, column 18: Unexpected character ('}' (code 125)):"
      + " was expecting double-quote to start field name", rejection("{\"zone\": \"shop\",\n  \"hosts\": [\"a\"],}"));
  }

  @Test
  void aKeyGivenTwiceIsRejectedWithItsPlace() {
    assertEquals("tenants/shop.json: invalid JSON at line 1, column 24: Duplicate field 'zone'",
      rejection("{\"zone\": \"shop\", \"zone\": \"shop2\", \"hosts\": [\"shop.test\"], \"origins\": [\"h2c://127.0.0.1:9\"]}"));
  }

  @Test
  void aByteOrderMarkIsSkipped() {
    ZoneCatalog catalog = new ZoneCatalog(tenants, List.of());
    String text = "\uFEFF" + shop().encodePrettily();
    assertEquals(List.of(), catalog.apply(Map.of("shop.json", text), true).rejected());
  }

  @Test
  void emptyFileAndNonObjectAreRejected() {
    assertEquals("tenants/shop.json: invalid JSON: the file is empty", rejection("  \n"));
    assertEquals("tenants/shop.json: invalid JSON: the top level must be an object {...}", rejection("[1, 2]"));
  }

  @ParameterizedTest(name = "{0} = {1}")
  @CsvSource(delimiter = '|', value = {
    "origin_h2_max_streams   | 0      | must be 1..1000, got 0",
    "origin_h2_max_streams   | 1001   | must be 1..1000, got 1001",
    "origin_h2_max_streams   | 10.5   | must be 1..1000, got 10.5",
    "origin_h2_max_streams   | '\"ten\"' | must be 1..1000, got \"ten\"",
    "proxy_read_timeout      | 99999  | must be 1..6000, got 99999",
    "proxy_read_timeout      | 18446744073709551621 | must be 1..6000, got 18446744073709551621",
    "max_request_body_bytes  | 99999999999999999999 | must be an integer >= 0, got 99999999999999999999",
    "proxy_connect_timeout   | 61     | must be 1..60, got 61",
    "origin_idle_timeout     | 0      | must be 1..3600, got 0",
    "max_request_body_bytes  | -1     | must be an integer >= 0, got -1",
    "origin_max_http_version | '\"3\"'  | must be \"1\" or \"2\", got \"3\""})
  void outOfRangeSettingNamesItsRange(String id, String json, String reason) {
    JsonObject zone = shop();
    zone.getJsonObject("settings").put(id, new JsonObject("{\"v\": " + json + "}").getValue("v"));
    assertEquals("tenants/shop.json: settings." + id + ": " + reason, rejection(zone));
  }

  @Test
  void exactMessageForZeroStreamsMatchesTheDocumentedExample() {
    JsonObject zone = shop();
    zone.getJsonObject("settings").put("origin_h2_max_streams", 0);
    assertEquals("tenants/shop.json: settings.origin_h2_max_streams: must be 1..1000, got 0", rejection(zone));
  }

  @Test
  void unknownFieldsAreNamed() {
    assertEquals("tenants/shop.json: origin: unknown field", rejection(shop().put("origin", "h2c://x:1")));
    JsonObject typo = shop();
    typo.getJsonObject("settings").put("origin_h2_max_stream", 10);
    assertEquals("tenants/shop.json: settings.origin_h2_max_stream: unknown setting", rejection(typo));
    assertEquals("tenants/shop.json: routes[0].strip: unknown field", rejection(shop().put("routes",
      List.of(new JsonObject().put("prefix", "/api/").put("origins", List.of("h2c://127.0.0.1:9")).put("strip", true)))));
  }

  @Test
  void missingRequiredFieldsAreNamed() {
    JsonObject noZone = shop();
    noZone.remove("zone");
    assertEquals("tenants/shop.json: zone: required", rejection(noZone));
    JsonObject noHosts = shop();
    noHosts.remove("hosts");
    assertEquals("tenants/shop.json: hosts: required", rejection(noHosts));
    JsonObject noOrigins = shop();
    noOrigins.remove("origins");
    assertEquals("tenants/shop.json: origins: required", rejection(noOrigins));
    assertEquals("tenants/shop.json: origins: must be a non-empty array of origin URLs",
      rejection(shop().put("origins", List.of())));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
    "ftp://o.test              | scheme must be https, h2c or http, got \"ftp://o.test\"",
    "10.0.0.5:443              | not a valid URL: \"10.0.0.5:443\"",
    "https://                  | not a valid URL: \"https://\"",
    "https://o.test/api        | must be scheme://host[:port] without path, query or fragment, got \"https://o.test/api\"",
    "https://o.test?a=1        | must be scheme://host[:port] without path, query or fragment, got \"https://o.test?a=1\"",
    "https://user@o.test       | must not carry user info (user:password@), got \"https://…@o.test\"",
    "https://u:s3cret@o.test/x | must not carry user info (user:password@), got \"https://…@o.test/x\"",
    "https://u:s3cret@bad_h:1  | must not carry user info (user:password@), got \"https://…@bad_h:1\"",
    "https://u:s e@o.test     | not a valid URL: \"https://…@o.test\"",
    "h2c://127.0.0.1:99999     | port must be 1..65535, got \"h2c://127.0.0.1:99999\"",
    "https://bad_host.test:443 | not a valid host name in \"https://bad_host.test:443\""})
  void badOriginUrlIsNamedWithItsIndex(String url, String reason) {
    JsonObject zone = shop().put("origins", List.of("h2c://127.0.0.1:8080", url));
    assertEquals("tenants/shop.json: origins[1]: " + reason, rejection(zone));
  }

  /** A value the TLS stack cannot send as SNI would otherwise fail every connection with a 525 or 526. */
  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
    "origin test",
    "origin.test:443",
    "https://origin.test",
    "*.origin.test",
    "origin..test",
    "-origin.test"})
  void originSniThatIsNoHostNameOrAddressIsRejected(String sni) {
    assertEquals("tenants/shop.json: origin_sni: must be a host name or an IP address, got \"" + sni + "\"",
      rejection(shop().put("origin_sni", sni)));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"origin.test", "Origin.Test", "origin.test.", "origin-1.test", "10.0.0.5", "::1"})
  void originSniThatIsAHostNameOrAddressIsAccepted(String sni) {
    ZoneCatalog catalog = new ZoneCatalog(tenants, List.of());
    assertEquals(List.of(), catalog.apply(Map.of("shop.json", shop().put("origin_sni", sni).encode()), true).rejected());
  }

  @Test
  void hostClaimedByTwoZonesIsRefusedToTheSecondFile() {
    ZoneCatalog catalog = new ZoneCatalog(tenants, List.of());
    JsonObject other = shop().put("zone", "other").put("hosts", List.of("other.test", "WWW.shop.test"));
    List<ConfigException> rejected = catalog.apply(Map.of(
      "a-shop.json", shop().encode(),
      "b-other.json", other.encode()), true).rejected();
    assertEquals(List.of("tenants/b-other.json: hosts[1]: host \"www.shop.test\" already belongs to zone \"shop\""
      + " (tenants/a-shop.json)"), rejected.stream().map(ConfigException::getMessage).toList());
    assertEquals(List.of("shop"), catalog.zones().stream().map(ZoneConfig::zone).toList());
  }

  /** An IPv6 address is a host as an IPv4 one is, with or without brackets, held in RFC 5952's form. */
  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {"[::1]|::1", "::1|::1", "[0:0:0:0:0:0:0:1]|::1", "[2001:DB8:0::1]|2001:db8::1"})
  void anIpv6AddressIsAHostInItsShortestForm(String written, String held) {
    ZoneCatalog catalog = new ZoneCatalog(tenants, List.of());
    catalog.apply(Map.of("shop.json", shop().put("hosts", List.of("shop.test", written)).encode()), true);
    assertEquals(List.of("shop.test", held), catalog.zones().get(0).hosts());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"[::1]:8443", "[::1", "::1]", "[fe80::1%eth0]", "[1::2::3]", "*.::1", "[[::1]]"})
  void aMalformedIpv6HostIsRejectedWithWhy(String written) {
    assertEquals("tenants/shop.json: hosts[1]: not an IPv6 address (a port, a zone index or a wildcard cannot be part"
      + " of one): \"" + written + "\"", rejection(shop().put("hosts", List.of("shop.test", written))));
  }

  @Test
  void oneIpv6AddressWrittenTwoWaysIsOneHost() {
    ZoneCatalog catalog = new ZoneCatalog(tenants, List.of());
    List<ConfigException> rejected = catalog.apply(Map.of(
      "a-shop.json", shop().put("hosts", List.of("[::1]")).encode(),
      "b-other.json", shop().put("zone", "other").put("hosts", List.of("0::1")).encode()), true).rejected();
    assertEquals(List.of("tenants/b-other.json: hosts[0]: host \"::1\" already belongs to zone \"shop\""
      + " (tenants/a-shop.json)"), rejected.stream().map(ConfigException::getMessage).toList());
  }

  @Test
  void zoneIdDefinedTwiceIsRefusedToTheSecondFile() {
    ZoneCatalog catalog = new ZoneCatalog(tenants, List.of());
    List<ConfigException> rejected = catalog.apply(Map.of(
      "a.json", shop().encode(),
      "b.json", shop().put("hosts", List.of("b.test")).encode()), true).rejected();
    assertEquals("tenants/b.json: zone: zone \"shop\" is already defined (tenants/a.json)",
      rejected.get(0).getMessage());
  }

  @Test
  void unreadableCaFileIsNamedWithTheResolvedPath() throws IOException {
    Path missing = tenants.resolve("missing-ca.pem");
    assertEquals("tenants/shop.json: origin_ca_file: cannot read " + missing + ": no such file",
      rejection(shop().put("origin_ca_file", "missing-ca.pem")));

    Path folder = Files.createDirectories(tenants.resolve("ca-folder"));
    assertEquals("tenants/shop.json: origin_ca_file: cannot read " + folder + ": is a folder",
      rejection(shop().put("origin_ca_file", "ca-folder")));

    Path notPem = Files.writeString(tenants.resolve("not-a-cert.pem"), "hello");
    assertEquals("tenants/shop.json: origin_ca_file: no PEM certificate in " + notPem,
      rejection(shop().put("origin_ca_file", "not-a-cert.pem")));

    Path damaged = Files.writeString(tenants.resolve("damaged.pem"),
      "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    String message = rejection(shop().put("origin_ca_file", "damaged.pem"));
    assertTrue(message.startsWith("tenants/shop.json: origin_ca_file: unreadable PEM certificate in " + damaged
      + ": "), message);
  }

  @Test
  void caFileResolvesBesideTheZoneFile() throws IOException {
    SelfSignedFiles.certificate(tenants.resolve("ca.pem"));
    ZoneConfig zone = ZoneFileParser.parse(tenants.resolve("shop.json"), "tenants/shop.json",
      shop().put("origin_ca_file", "ca.pem").encode());
    assertEquals(tenants.resolve("ca.pem"), zone.originCa().path());
  }

  @Test
  void wrongTypesAreNamed() {
    assertEquals("tenants/shop.json: hosts[0]: must be a string", rejection(shop().put("hosts", List.of(1))));
    assertEquals("tenants/shop.json: origin_tls_verify: must be true or false",
      rejection(shop().put("origin_tls_verify", "yes")));
    assertEquals("tenants/shop.json: settings: must be an object", rejection(shop().put("settings", 5)));
  }

  @Test
  void patchValuesGoThroughTheSameValidator() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
      () -> Setting.ORIGIN_H2_MAX_STREAMS.parse(0));
    assertEquals("must be 1..1000, got 0", e.getMessage());
    assertEquals(10L, Setting.ORIGIN_H2_MAX_STREAMS.parse(10));
  }
}
