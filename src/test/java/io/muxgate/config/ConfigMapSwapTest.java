package io.muxgate.config;

import io.muxgate.admin.AdminApi;
import io.muxgate.support.Bursts;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A Kubernetes ConfigMap volume, laid out the way the kubelet does it: each key is a symlink
 * {@code zone.json -> ..data/zone.json}, {@code ..data} points at a timestamped folder, and an update
 * writes a new folder and renames a fresh symlink over {@code ..data}.
 */
class ConfigMapSwapTest {

  @RegisterExtension
  final TestScope scope = new TestScope();

  /** Writes a new timestamped generation and swaps {@code ..data} to it atomically, as the kubelet does. */
  private static void publishGeneration(Path mount, String generation, JsonObject zone) throws IOException {
    Path dir = Files.createDirectory(mount.resolve(generation));
    Files.writeString(dir.resolve("zone.json"), zone.encodePrettily());
    Path tmpLink = Files.createSymbolicLink(mount.resolve("..data_tmp"), Path.of(generation));
    Path previous = Files.isSymbolicLink(mount.resolve("..data")) ? Files.readSymbolicLink(mount.resolve("..data")) : null;
    Files.move(tmpLink, mount.resolve("..data"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    if (!Files.exists(mount.resolve("zone.json"), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      Files.createSymbolicLink(mount.resolve("zone.json"), Path.of("..data", "zone.json"));
    }
    if (previous != null) {
      Path old = mount.resolve(previous);
      Files.delete(old.resolve("zone.json"));
      Files.delete(old);
    }
  }

  private static JsonObject capped(String origin, int cap) {
    return zone("cm", "cm.test", List.of(origin), new JsonObject().put("origin_h2_max_streams", cap));
  }

  @Test
  void swappingDataToANewGenerationAppliesItsSettingsAndDotEntriesAreIgnored() throws IOException {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C);
    ProxyHarness proxy = scope.startProxy(Map.of());
    ReloadWatch watch = scope.track(new ReloadWatch(scope.vertx(), proxy));
    AdminApi admin = new AdminApi(scope.vertx(), proxy.adminPort());
    Path mount = proxy.tenantsDir();
    // An editor's swap file and a hidden copy: both start with '.', neither is a zone file.
    Files.writeString(mount.resolve(".zone.json.swp"), "{ not json");
    Files.writeString(mount.resolve(".hidden.json"), capped(origin.url(), 1).encode());

    watch.mark();
    publishGeneration(mount, "..2026_11_22_01", capped(origin.url(), 100));
    watch.awaitInForce();
    HttpClientAgent client = proxy.h2cClient();
    assertEquals(1, Bursts.connectionsOpened(origin, client, "cm.test", 20),
      "cap 100: one connection for 20 requests");

    watch.mark();
    publishGeneration(mount, "..2026_11_22_02", capped(origin.url(), 5));
    watch.awaitInForce();
    assertEquals(4, Bursts.connectionsOpened(origin, client, "cm.test", 20),
      "cap 5: four connections for 20 requests");

    assertEquals(5, admin.get("/zones/cm/settings/origin_h2_max_streams").json().getJsonObject("result")
      .getInteger("value"));
    assertEquals(1, admin.get("/zones").json().getJsonArray("result").size(), "only zone.json is a zone");
    assertEquals(0, admin.rejectedReloads(), "..data, the generations and dot files are never read as zones");
    assertTrue(Files.isSymbolicLink(mount.resolve("zone.json")));
  }
}
