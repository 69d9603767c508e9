package io.muxgate.admin;

import io.muxgate.support.Await;
import io.muxgate.support.Bursts;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Cloudflare-style settings API on the admin port: reads for everyone, writes with the bearer token,
 * each write validated like a zone file, saved to the file and in force by the time it answers.
 */
class SettingsApiTest {

  private static final String TOKEN = "t0ken-for-tests";

  @RegisterExtension
  final TestScope scope = new TestScope();
  @TempDir
  Path tokenDir;
  private TestOrigin origin;
  private ProxyHarness proxy;
  private AdminApi admin;

  @BeforeEach
  void setUp() throws IOException {
    origin = scope.startOrigin(TestOrigin.Mode.H2C);
    Path tokenFile = tokenDir.resolve("token");
    Files.writeString(tokenFile, TOKEN + "\n");
    proxy = scope.startProxy(Map.of("shop.json", shopZone()),
      new JsonObject().put("admin_token_file", tokenFile.toString()));
    admin = new AdminApi(scope.vertx(), proxy.adminPort());
  }

  /** A zone file with more than settings in it, so a PATCH has something to keep. */
  private JsonObject shopZone() {
    return new JsonObject()
      .put("zone", "shop")
      .put("hosts", List.of("shop.test", "*.cdn.shop.test"))
      .put("origins", List.of(origin.url()))
      .put("routes", List.of(new JsonObject().put("prefix", "/api/").put("origins", List.of(origin.url()))
        .put("strip_prefix", false)))
      .put("origin_tls_verify", true)
      .put("settings", new JsonObject().put("origin_h2_max_streams", 100).put("origin_idle_timeout", 600));
  }

  private JsonObject fileOnDisk() throws IOException {
    return new JsonObject(Files.readString(proxy.tenantsDir().resolve("shop.json")));
  }

  private static JsonObject firstError(AdminApi.Answer answer) {
    JsonObject body = answer.json();
    assertEquals(false, body.getBoolean("success"));
    assertEquals(new JsonArray(), body.getJsonArray("messages"));
    assertTrue(body.containsKey("result") && body.getValue("result") == null);
    return body.getJsonArray("errors").getJsonObject(0);
  }

  @Test
  void patchWithTokenAnswersTheEnvelopeSavesTheFileAndIsInForceOnReturn() throws IOException {
    JsonObject before = fileOnDisk();

    AdminApi.Answer answer = admin.patch("/zones/shop/settings/origin_h2_max_streams", TOKEN, 7);

    assertEquals(200, answer.status(), answer.body());
    assertEquals("{\"success\":true,\"errors\":[],\"messages\":[],\"result\":{\"id\":\"origin_h2_max_streams\",\"value\":7}}",
      answer.body());
    JsonObject expected = before.copy();
    expected.getJsonObject("settings").put("origin_h2_max_streams", 7);
    assertEquals(expected, fileOnDisk(), "only the patched setting changed on disk");
    assertEquals(3, Bursts.connectionsOpened(origin, proxy.h2cClient(), "shop.test", 20),
      "cap 7: 20 requests need 3 origin connections, right after the answer");
    assertEquals(7, admin.get("/zones/shop/settings/origin_h2_max_streams").json().getJsonObject("result")
      .getInteger("value"));
  }

  /** Vert.x Web's body handler would make a folder for uploads in the working directory at a form's first. */
  @Test
  void aFormBodyLeavesNoUploadFolderInTheWorkingDirectory() {
    String form = "--b\r\nContent-Disposition: form-data; name=\"value\"\r\n\r\n7\r\n--b--\r\n";
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.PATCH).setPort(proxy.adminPort())
      .setURI("/zones/shop/settings/origin_h2_max_streams").putHeader("authorization", "Bearer " + TOKEN)
      .putHeader("content-type", "multipart/form-data; boundary=b");
    int status = Await.result(scope.httpClient().request(options)
      .compose(req -> req.send(form)).map(HttpClientResponse::statusCode));

    assertEquals(400, status, "the API takes JSON only");
    assertFalse(Files.exists(Path.of("file-uploads")), "an upload folder in " + Path.of("").toAbsolutePath());
  }

  /** {@code curl -d} labels its body form-urlencoded: the body is read as JSON all the same, whatever its size. */
  @Test
  void aJsonBodyLabelledAsAFormIsReadAsJson() {
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.PATCH).setPort(proxy.adminPort())
      .setURI("/zones/shop/settings/origin_h2_max_streams").putHeader("authorization", "Bearer " + TOKEN)
      .putHeader("content-type", "application/x-www-form-urlencoded");
    String body = " ".repeat(3000) + "{\"value\": 9}";
    int status = Await.result(scope.httpClient().request(options)
      .compose(req -> req.send(body)).map(HttpClientResponse::statusCode));

    assertEquals(200, status);
    assertEquals(9, admin.get("/zones/shop/settings/origin_h2_max_streams").json().getJsonObject("result")
      .getInteger("value"));
  }

  @Test
  void writesWithoutTheRightTokenAreRefused() throws IOException {
    String before = Files.readString(proxy.tenantsDir().resolve("shop.json"));

    AdminApi.Answer missing = admin.patch("/zones/shop/settings/origin_h2_max_streams", null, 7);
    AdminApi.Answer wrong = admin.patch("/zones/shop/settings/origin_h2_max_streams", TOKEN + "x", 7);
    AdminApi.Answer notBearer = Await.result(admin.send(HttpMethod.PATCH, "/zones/shop/settings/origin_h2_max_streams",
      null, new JsonObject().put("value", 7).toBuffer()));

    assertEquals(401, missing.status());
    assertEquals("Bearer", missing.headers().get("www-authenticate"));
    assertEquals("missing bearer token", firstError(missing).getString("message"));
    assertEquals(403, wrong.status());
    assertEquals("invalid token", firstError(wrong).getString("message"));
    assertEquals(401, notBearer.status());
    assertEquals(before, Files.readString(proxy.tenantsDir().resolve("shop.json")));
  }

  @Test
  void withNoTokenConfiguredEveryWriteIsForbidden() {
    // A second Muxgate needs its own Vert.x: the event bus addresses are per instance.
    Vertx other = Vertx.vertx();
    scope.track(() -> Await.result(other.close(), 10));
    ProxyHarness open = scope.track(ProxyHarness.start(other, Map.of("open.json", shopZone().put("zone", "open"))));
    AdminApi openAdmin = new AdminApi(scope.vertx(), open.adminPort());

    AdminApi.Answer withToken = openAdmin.patch("/zones/open/settings/origin_h2_max_streams", TOKEN, 7);
    AdminApi.Answer without = openAdmin.patch("/zones/open/settings/origin_h2_max_streams", null, 7);

    assertEquals(403, withToken.status());
    assertEquals(403, without.status());
    assertEquals("admin writes are disabled: no admin token is configured", firstError(without).getString("message"));
    assertEquals(200, openAdmin.get("/zones/open/settings").status(), "reads stay open");
  }

  @Test
  void outOfRangeValueIs400NamingTheSettingAndItsRange() throws IOException {
    String before = Files.readString(proxy.tenantsDir().resolve("shop.json"));

    AdminApi.Answer zero = admin.patch("/zones/shop/settings/origin_h2_max_streams", TOKEN, 0);
    AdminApi.Answer text = admin.patch("/zones/shop/settings/proxy_read_timeout", TOKEN, "long");
    AdminApi.Answer huge = admin.patch("/zones/shop/settings/proxy_read_timeout", TOKEN, 99999);

    assertEquals(400, zero.status());
    assertEquals("settings.origin_h2_max_streams: must be 1..1000, got 0", firstError(zero).getString("message"));
    assertEquals(400, text.status());
    assertEquals("settings.proxy_read_timeout: must be 1..6000, got \"long\"", firstError(text).getString("message"));
    assertEquals("settings.proxy_read_timeout: must be 1..6000, got 99999", firstError(huge).getString("message"));
    assertEquals(before, Files.readString(proxy.tenantsDir().resolve("shop.json")), "the file is untouched");
  }

  @Test
  void malformedBodyIs400() {
    AdminApi.Answer answer = Await.result(admin.send(HttpMethod.PATCH, "/zones/shop/settings/origin_h2_max_streams",
      TOKEN, Buffer.buffer("{\"val\": 7}")));
    assertEquals(400, answer.status());
    assertEquals("body must be a JSON object {\"value\": V}", firstError(answer).getString("message"));
  }

  /** The body is read as strictly as a zone file: nothing beside "value", no key twice. */
  @Test
  void aBodyWithAnotherFieldOrADuplicateKeyIs400AndChangesNothing() throws IOException {
    String before = Files.readString(proxy.tenantsDir().resolve("shop.json"));
    AdminApi.Answer extra = Await.result(admin.send(HttpMethod.PATCH, "/zones/shop/settings/origin_h2_max_streams",
      TOKEN, Buffer.buffer("{\"value\": 7, \"origin_max_connections\": 3}")));
    assertEquals(400, extra.status());
    assertEquals("unknown field \"origin_max_connections\" in the body: body must be a JSON object {\"value\": V}"
      + " alone", firstError(extra).getString("message"));
    AdminApi.Answer twice = Await.result(admin.send(HttpMethod.PATCH, "/zones/shop/settings/origin_h2_max_streams",
      TOKEN, Buffer.buffer("{\"value\": 7, \"value\": 8}")));
    assertEquals(400, twice.status());
    assertTrue(firstError(twice).getString("message").contains("Duplicate field 'value'"),
      firstError(twice).getString("message"));
    AdminApi.Answer empty = Await.result(admin.send(HttpMethod.PATCH, "/zones/shop/settings/origin_h2_max_streams",
      TOKEN, Buffer.buffer()));
    assertEquals(400, empty.status());
    AdminApi.Answer otherId = Await.result(admin.send(HttpMethod.PATCH, "/zones/shop/settings/origin_h2_max_streams",
      TOKEN, Buffer.buffer("{\"id\": \"origin_max_connections\", \"value\": 7}")));
    assertEquals(400, otherId.status());
    assertEquals(before, Files.readString(proxy.tenantsDir().resolve("shop.json")), "the file is untouched");
  }

  @Test
  void theSettingsOwnGetAnswerWithANewValueIsAccepted() {
    JsonObject read = admin.get("/zones/shop/settings/origin_h2_max_streams").json().getJsonObject("result");
    read.put("value", 9);
    AdminApi.Answer written = Await.result(admin.send(HttpMethod.PATCH, "/zones/shop/settings/origin_h2_max_streams",
      TOKEN, read.toBuffer()));
    assertEquals(200, written.status(), written.body());
    assertEquals(9, admin.get("/zones/shop/settings/origin_h2_max_streams").json().getJsonObject("result")
      .getInteger("value"));
  }

  @Test
  void unknownZoneOrSettingIs404ForReadsAndWrites() {
    assertEquals(404, admin.patch("/zones/nope/settings/origin_h2_max_streams", TOKEN, 7).status());
    assertEquals(404, admin.get("/zones/nope/settings").status());
    assertEquals(404, admin.get("/zones/nope/settings/origin_h2_max_streams").status());
    AdminApi.Answer unknownSetting = admin.patch("/zones/shop/settings/origin_h2_max_stream", TOKEN, 7);
    assertEquals(404, unknownSetting.status());
    assertTrue(firstError(unknownSetting).getString("message").startsWith("unknown setting \"origin_h2_max_stream\""));
    assertEquals(404, admin.get("/zones/shop/settings/origin_h2_max_stream").status());
  }

  /** The router's own refusals come in the envelope too; health checks answer HEAD. */
  @Test
  void unknownPathsWrongMethodsAndOversizedBodiesGetTheEnvelope() {
    AdminApi.Answer noSuchPath = admin.get("/nope");
    assertEquals(404, noSuchPath.status());
    assertEquals(false, new JsonObject(noSuchPath.body()).getBoolean("success"));

    AdminApi.Answer wrongMethod = Await.result(admin.send(HttpMethod.DELETE, "/zones/shop/settings/origin_h2_max_streams",
      TOKEN, null), 10);
    assertEquals(405, wrongMethod.status());
    assertEquals(false, new JsonObject(wrongMethod.body()).getBoolean("success"));
    assertEquals("GET, HEAD, PATCH", wrongMethod.headers().get("allow"));

    AdminApi.Answer tooLarge = Await.result(admin.send(HttpMethod.PATCH, "/zones/shop/settings/origin_h2_max_streams",
      TOKEN, Buffer.buffer("{\"value\": \"" + "x".repeat(200_000) + "\"}")), 10);
    assertEquals(413, tooLarge.status());
    assertEquals(false, new JsonObject(tooLarge.body()).getBoolean("success"));

    assertEquals(200, Await.result(admin.send(HttpMethod.HEAD, "/healthz", null, null), 10).status());
    assertEquals(200, Await.result(admin.send(HttpMethod.HEAD, "/readyz", null, null), 10).status());
    assertEquals(200, Await.result(admin.send(HttpMethod.HEAD, "/metrics", null, null), 10).status());
    assertEquals(200, Await.result(admin.send(HttpMethod.HEAD, "/zones/shop/settings", null, null), 10).status());
  }

  @Test
  void patchOfAZoneWhoseFileIsBrokenOnDiskIs409AndLeavesTheFileAsItIs() throws IOException {
    Path file = proxy.tenantsDir().resolve("shop.json");
    String broken = Files.readString(file).replace("\"origin_idle_timeout\" : 600", "\"origin_idle_timeout\" : 0");
    Files.writeString(file, broken);

    AdminApi.Answer answer = admin.patch("/zones/shop/settings/origin_h2_max_streams", TOKEN, 7);

    assertEquals(409, answer.status(), answer.body());
    assertEquals("tenants/shop.json: settings.origin_idle_timeout: must be 1..3600, got 0 (fix the zone file first;"
      + " the zone keeps its last good config)", firstError(answer).getString("message"));
    assertEquals(broken, Files.readString(file));
    assertEquals(100, admin.get("/zones/shop/settings/origin_h2_max_streams").json().getJsonObject("result")
      .getInteger("value"));
  }

  /** Deleted before a scan has seen it: 404 (not the write's raw failure), and the file stays gone. */
  @Test
  void patchOfAZoneWhoseFileWasJustDeletedIs404() throws IOException {
    Vertx other = Vertx.vertx();
    scope.track(() -> Await.result(other.close(), 10));
    ProxyHarness slowScan = scope.track(ProxyHarness.start(other, Map.of("shop.json", shopZone()), new JsonObject()
      .put("admin_token_file", tokenDir.resolve("token").toString()).put("config_scan_period_ms", 3_600_000)));
    Path file = slowScan.tenantsDir().resolve("shop.json");
    Files.delete(file);

    AdminApi.Answer answer = new AdminApi(scope.vertx(), slowScan.adminPort())
      .patch("/zones/shop/settings/origin_h2_max_streams", TOKEN, 7);

    assertEquals(404, answer.status(), answer.body());
    assertFalse(Files.exists(file));
  }

  /** A zone file mounted from a ConfigMap is a link into ..data: a PATCH would cut it off from updates. */
  @Test
  void patchOfAZoneFileThatIsASymbolicLinkIs409AndLeavesTheLink() throws IOException {
    Path tenants = proxy.tenantsDir();
    Path file = tenants.resolve("shop.json");
    Files.createDirectory(tenants.resolve("..2026_12_05"));
    Files.move(file, tenants.resolve("..2026_12_05").resolve("shop.json"));
    Files.createSymbolicLink(tenants.resolve("..data"), tenants.resolve("..2026_12_05").getFileName());
    Files.createSymbolicLink(file, Path.of("..data", "shop.json"));

    AdminApi.Answer answer = admin.patch("/zones/shop/settings/origin_h2_max_streams", TOKEN, 7);

    assertEquals(409, answer.status(), answer.body());
    assertEquals("tenants/shop.json is a symbolic link (a mounted ConfigMap?): change the zone at its source",
      firstError(answer).getString("message"));
    assertTrue(Files.isSymbolicLink(file));
    assertEquals(100, fileOnDisk().getJsonObject("settings").getInteger("origin_h2_max_streams"));
    assertEquals(false, admin.get("/zones/shop/settings/origin_h2_max_streams").json().getJsonObject("result")
      .getBoolean("editable"), "reads say what a PATCH would find");
  }

  @Test
  void concurrentPatchesOfDifferentSettingsOfOneZoneAllSurvive() throws IOException {
    List<Future<AdminApi.Answer>> answers = List.of(
      admin.patchAsync("/zones/shop/settings/origin_h2_max_streams", TOKEN, 7),
      admin.patchAsync("/zones/shop/settings/proxy_read_timeout", TOKEN, 30),
      admin.patchAsync("/zones/shop/settings/proxy_connect_timeout", TOKEN, 5),
      admin.patchAsync("/zones/shop/settings/max_concurrent_requests", TOKEN, 500));
    Await.result(Future.all(answers));
    answers.forEach(a -> assertEquals(200, a.result().status(), a.result().body()));

    JsonObject settings = admin.get("/zones/shop/settings").json().getJsonArray("result").stream()
      .map(JsonObject.class::cast)
      .collect(JsonObject::new, (o, s) -> o.put(s.getString("id"), s.getValue("value")), JsonObject::mergeIn);
    assertEquals(7, settings.getInteger("origin_h2_max_streams"));
    assertEquals(30, settings.getInteger("proxy_read_timeout"));
    assertEquals(5, settings.getInteger("proxy_connect_timeout"));
    assertEquals(500, settings.getInteger("max_concurrent_requests"));
    assertEquals(600, settings.getInteger("origin_idle_timeout"), "a setting nobody patched keeps its value");
    JsonObject onDisk = fileOnDisk().getJsonObject("settings");
    assertEquals(new JsonObject().put("origin_h2_max_streams", 7).put("origin_idle_timeout", 600)
      .put("proxy_read_timeout", 30).put("proxy_connect_timeout", 5).put("max_concurrent_requests", 500), onDisk);
  }

  @Test
  void readsListZonesSettingsAndOneSetting() {
    AdminApi.Answer zones = admin.get("/zones");
    assertEquals(200, zones.status());
    JsonObject zone = zones.json().getJsonArray("result").getJsonObject(0);
    assertEquals("shop", zone.getString("id"));
    assertEquals(List.of("shop.test", "*.cdn.shop.test"), zone.getJsonArray("hosts").getList());
    assertEquals(true, zones.json().getBoolean("success"));

    JsonArray settings = admin.get("/zones/shop/settings").json().getJsonArray("result");
    assertEquals(List.of("origin_max_http_version", "origin_h2_max_streams", "origin_max_connections",
        "proxy_connect_timeout", "proxy_read_timeout", "origin_idle_timeout", "max_concurrent_requests",
        "max_request_body_bytes"),
      settings.stream().map(s -> ((JsonObject) s).getString("id")).toList());

    AdminApi.Answer one = admin.get("/zones/shop/settings/origin_idle_timeout");
    assertEquals(new JsonObject().put("success", true).put("errors", new JsonArray()).put("messages", new JsonArray())
      .put("result", new JsonObject().put("id", "origin_idle_timeout").put("value", 600).put("editable", true)),
      one.json());
    assertEquals("2", admin.get("/zones/shop/settings/origin_max_http_version").json().getJsonObject("result")
      .getValue("value"), "defaults show for settings the file leaves out");
  }
}
