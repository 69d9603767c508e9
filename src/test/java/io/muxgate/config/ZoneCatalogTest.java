package io.muxgate.config;

import io.muxgate.support.SelfSignedFiles;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Scan after scan, the catalog keeps each zone on its last good file, isolates zones from each other's
 * mistakes, and reports each bad content exactly once.
 */
class ZoneCatalogTest {

  @TempDir
  Path conf;

  private ZoneCatalog catalog() {
    return new ZoneCatalog(conf.resolve("tenants"), List.of());
  }

  private static String zone(String name, String host, int cap) {
    return new JsonObject().put("zone", name).put("hosts", List.of(host)).put("origins", List.of("h2c://127.0.0.1:9"))
      .put("settings", new JsonObject().put("origin_h2_max_streams", cap)).encodePrettily();
  }

  private static int cap(ZoneCatalog catalog, String zone) {
    return catalog.zones().stream().filter(z -> z.zone().equals(zone)).findFirst().orElseThrow()
      .settings().originH2MaxStreams();
  }

  private static List<String> messages(ZoneCatalog.ScanResult result) {
    return result.rejected().stream().map(ConfigException::getMessage).toList();
  }

  @Test
  void rejectedEditKeepsTheLastGoodZoneWhileOtherZonesApplyTheirEdits() {
    ZoneCatalog catalog = catalog();
    Map<String, String> files = new HashMap<>(Map.of("a.json", zone("a", "a.test", 10), "b.json", zone("b", "b.test", 50)));
    assertTrue(catalog.apply(files, true).changed());

    files.put("a.json", zone("a", "a.test", 0));
    files.put("b.json", zone("b", "b.test", 20));
    ZoneCatalog.ScanResult first = catalog.apply(files);
    ZoneCatalog.ScanResult second = catalog.apply(files);

    assertTrue(first.changed(), "b's edit applies on the scan that sees it");
    assertEquals(List.of(), messages(first), "a failure is confirmed by a second scan before it is reported");
    assertEquals(List.of("tenants/a.json: settings.origin_h2_max_streams: must be 1..1000, got 0"), messages(second));
    assertFalse(second.changed());
    assertEquals(10, cap(catalog, "a"));
    assertEquals(20, cap(catalog, "b"));
  }

  @Test
  void badContentIsReportedOnceUntilItChanges() {
    ZoneCatalog catalog = catalog();
    Map<String, String> files = new HashMap<>(Map.of("a.json", zone("a", "a.test", 10)));
    catalog.apply(files, true);

    files.put("a.json", "{\"zone\": \"a\",");
    int reported = 0;
    for (int scan = 0; scan < 10; scan++) {
      reported += catalog.apply(files).rejected().size();
    }
    assertEquals(1, reported);

    files.put("a.json", zone("a", "a.test", 99999).replace("origin_h2_max_streams", "proxy_read_timeout"));
    catalog.apply(files);
    assertEquals(List.of("tenants/a.json: settings.proxy_read_timeout: must be 1..6000, got 99999"),
      messages(catalog.apply(files)));
    assertEquals(List.of(), messages(catalog.apply(files)));
    assertEquals(10, cap(catalog, "a"));
  }

  @Test
  void fileCaughtHalfWrittenIsNeverReportedWhenTheNextScanSeesItWhole() {
    ZoneCatalog catalog = catalog();
    Map<String, String> files = new HashMap<>(Map.of("a.json", zone("a", "a.test", 10)));
    catalog.apply(files, true);
    String whole = zone("a", "a.test", 20);

    files.put("a.json", whole.substring(0, whole.length() / 2));
    ZoneCatalog.ScanResult halfway = catalog.apply(files);
    files.put("a.json", whole);
    ZoneCatalog.ScanResult done = catalog.apply(files);

    assertEquals(List.of(), messages(halfway));
    assertFalse(halfway.changed());
    assertEquals(List.of(), messages(done));
    assertTrue(done.changed());
    assertEquals(20, cap(catalog, "a"));
  }

  @Test
  void fileRefusedForAHostConflictIsAcceptedOnceTheOtherFileLetsGo() {
    ZoneCatalog catalog = catalog();
    Map<String, String> files = new HashMap<>(Map.of("a.json", zone("a", "shared.test", 10)));
    catalog.apply(files, true);

    files.put("b.json", zone("b", "shared.test", 20));
    assertEquals(List.of("tenants/b.json: hosts[0]: host \"shared.test\" already belongs to zone \"a\" (tenants/a.json)"),
      messages(catalog.apply(files)));
    assertEquals(List.of(), messages(catalog.apply(files)), "reported once");

    files.remove("a.json");
    ZoneCatalog.ScanResult released = catalog.apply(files);
    assertTrue(released.changed());
    assertEquals(List.of("b"), catalog.zones().stream().map(ZoneConfig::zone).toList());
  }

  /** A ConfigMap update can move hosts between zones in one go: judged as a set, the swap is valid. */
  @Test
  void zonesSwappingHostsInOneEditAreBothAccepted() {
    ZoneCatalog catalog = catalog();
    Map<String, String> files = new HashMap<>(Map.of(
      "a.json", zone("a", "x.test", 10), "b.json", zone("b", "y.test", 20)));
    catalog.apply(files, true);

    files.put("a.json", zone("a", "y.test", 10));
    files.put("b.json", zone("b", "x.test", 20));
    ZoneCatalog.ScanResult swapped = catalog.apply(files);

    assertEquals(List.of(), messages(swapped));
    assertTrue(swapped.changed());
    assertEquals(List.of("a=[y.test]", "b=[x.test]"), catalog.zones().stream()
      .map(z -> z.zone() + "=" + z.hosts()).sorted().toList());
  }

  /** Half a swap: the other file's new content is invalid, so it keeps its host and the move waits. */
  @Test
  void aMoveOntoAHostWhoseZoneKeepsItIsRefused() {
    ZoneCatalog catalog = catalog();
    Map<String, String> files = new HashMap<>(Map.of(
      "a.json", zone("a", "x.test", 10), "b.json", zone("b", "y.test", 20)));
    catalog.apply(files, true);

    files.put("a.json", zone("a", "y.test", 10));
    files.put("b.json", zone("b", "x.test", 0));
    ZoneCatalog.ScanResult first = catalog.apply(files);

    assertEquals(List.of("tenants/a.json: hosts[0]: host \"y.test\" already belongs to zone \"b\" (tenants/b.json)"),
      messages(first));
    assertEquals(List.of("a=[x.test]", "b=[y.test]"), catalog.zones().stream()
      .map(z -> z.zone() + "=" + z.hosts()).sorted().toList());
  }

  @Test
  void unreadableFileIsReportedOnceAndKeepsItsZone() {
    ZoneCatalog catalog = catalog();
    Map<String, String> files = new HashMap<>(Map.of("a.json", zone("a", "a.test", 10)));
    catalog.apply(files, true);

    files.put("a.json", null);
    int reported = 0;
    for (int scan = 0; scan < 5; scan++) {
      reported += catalog.apply(files).rejected().size();
    }
    assertEquals(1, reported);
    assertEquals(10, cap(catalog, "a"));
  }

  @Test
  void removedFileRemovesItsZoneAndAddedFileAddsOne() {
    ZoneCatalog catalog = catalog();
    Map<String, String> files = new HashMap<>(Map.of("a.json", zone("a", "a.test", 10)));
    catalog.apply(files, true);

    files.remove("a.json");
    files.put("c.json", zone("c", "c.test", 10));
    assertTrue(catalog.apply(files).changed());
    assertEquals(List.of("c"), catalog.zones().stream().map(ZoneConfig::zone).toList());
    assertFalse(catalog.apply(files).changed());
  }

  @Test
  void badFileAtStartIsReportedAtOnceAndDoesNotStopTheOthers() {
    ZoneCatalog catalog = catalog();
    ZoneCatalog.ScanResult start = catalog.apply(Map.of("a.json", zone("a", "a.test", 10), "b.json", "{"), true);
    assertEquals(List.of("tenants/b.json: invalid JSON at line 1, column 2: unexpected end of input (truncated file?)"),
      messages(start));
    assertEquals(List.of("a"), catalog.zones().stream().map(ZoneConfig::zone).toList());
    assertEquals(List.of(), messages(catalog.apply(Map.of("a.json", zone("a", "a.test", 10), "b.json", "{"))));
  }

  /** A CA bundle rewritten in place (a mounted Secret rotated) makes the zone new, as an edit would. */
  @Test
  void aCaFileRewrittenInPlaceIsReadAgain() throws IOException {
    ZoneCatalog catalog = catalog();
    Path ca = SelfSignedFiles.certificate(caFile());
    String first = Files.readString(ca);
    Map<String, String> files = zoneNamingCa();
    catalog.apply(files, true);
    assertFalse(catalog.apply(files).changed(), "nothing changed");

    Files.writeString(ca, first + first); // other text, still valid: a bundle of two
    ZoneCatalog.ScanResult rotated = catalog.apply(files);

    assertTrue(rotated.changed());
    assertEquals(List.of(), messages(rotated));
    String second = catalog.zones().get(0).originCa().pem();
    assertEquals(Files.readString(ca), second);
    assertNotEquals(first, second);
    assertFalse(catalog.apply(files).changed(), "read once per change");
  }

  /** A bundle caught half written is not reported if whole by the next scan; a bad one keeps the last good. */
  @Test
  void aBadCaFileIsReportedOnceAndTheZoneKeepsTheBundleItHad() throws IOException {
    ZoneCatalog catalog = catalog();
    Path ca = SelfSignedFiles.certificate(caFile());
    String good = Files.readString(ca);
    Map<String, String> files = zoneNamingCa();
    catalog.apply(files, true);

    Files.writeString(ca, "not a certificate");
    ZoneCatalog.ScanResult caught = catalog.apply(files);
    ZoneCatalog.ScanResult confirmed = catalog.apply(files);
    ZoneCatalog.ScanResult after = catalog.apply(files);

    assertEquals(List.of(), messages(caught));
    assertEquals(List.of("tenants/a.json: origin_ca_file: no PEM certificate in " + ca), messages(confirmed));
    assertEquals(List.of(), messages(after));
    assertEquals(good, catalog.zones().get(0).originCa().pem());
    assertFalse(after.changed());
  }

  /** A zone file that names a CA file not there yet is accepted once the file appears. */
  @Test
  void aZoneWaitingForItsCaFileIsAcceptedWhenItAppears() throws IOException {
    ZoneCatalog catalog = catalog();
    Path ca = caFile();
    Map<String, String> files = zoneNamingCa();
    assertEquals(1, catalog.apply(files, true).rejected().size());
    assertEquals(List.of(), messages(catalog.apply(files)));

    SelfSignedFiles.certificate(ca);
    ZoneCatalog.ScanResult appeared = catalog.apply(files);

    assertTrue(appeared.changed());
    assertEquals(List.of("tenants/a.json"), appeared.recovered());
    assertTrue(catalog.isAccepted("a.json"));
  }

  /** A settled bundle is not read again at each scan: with thousands of zones that was a read a second each. */
  @Test
  void aSettledCaFileIsNotReadAgain() throws IOException {
    ZoneCatalog catalog = catalog();
    Path ca = SelfSignedFiles.certificate(caFile());
    Files.setLastModifiedTime(ca, FileTime.from(Instant.now().minusSeconds(3600)));
    Map<String, String> files = zoneNamingCa();
    catalog.apply(files, true);

    for (int scan = 0; scan < 5; scan++) {
      assertFalse(catalog.apply(files).changed());
    }
    assertEquals(1, catalog.caFilesRead());
  }

  /** Where zone "a" finds its bundle: tenants/ca.pem, not written yet. */
  private Path caFile() throws IOException {
    return Files.createDirectories(conf.resolve("tenants")).resolve("ca.pem");
  }

  /** Zone "a", naming ca.pem as its origin_ca_file. */
  private static Map<String, String> zoneNamingCa() {
    String zone = new JsonObject(zone("a", "a.test", 10)).put("origin_ca_file", "ca.pem").encodePrettily();
    return new HashMap<>(Map.of("a.json", zone));
  }
}
