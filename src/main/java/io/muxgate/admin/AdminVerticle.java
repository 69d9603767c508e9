package io.muxgate.admin;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.muxgate.config.ConfigVerticle;
import io.muxgate.config.ProcessConfig;
import io.muxgate.config.Setting;
import io.muxgate.config.SettingsPatch;
import io.muxgate.forward.Zone;
import io.muxgate.forward.ZoneTable;
import io.muxgate.frontend.ProxyVerticle;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * The admin port: liveness, readiness, Prometheus metrics, and the zone settings API in the envelope
 * of Cloudflare's. Writes need the bearer token; without a configured token they are refused (403).
 */
public final class AdminVerticle extends VerticleBase {

  private static final long MAX_BODY_BYTES = 64 * 1024;
  /** The one resource that takes PATCH. */
  private static final Pattern SETTING = Pattern.compile("/zones/[^/]+/settings/[^/]+/?");

  private final ProcessConfig config;
  private final Supplier<ZoneTable> zones;
  private final BooleanSupplier ready;
  private final PrometheusMeterRegistry registry;
  private HttpServer server;

  public AdminVerticle(ProcessConfig config, Supplier<ZoneTable> zones, BooleanSupplier ready,
                       PrometheusMeterRegistry registry) {
    this.config = config;
    this.zones = zones;
    this.ready = ready;
    this.registry = registry;
  }

  @Override
  public Future<?> start() {
    Router router = Router.router(vertx);
    // Every read answers HEAD too (some load balancers' health checks use it; RFC 9110 asks it of GET).
    read(router, "/healthz").handler(ctx -> text(ctx, 200, "ok\n"));
    read(router, "/readyz").handler(ctx -> {
      boolean isReady = ready.getAsBoolean();
      text(ctx, isReady ? 200 : 503, isReady ? "ready\n" : "not ready\n");
    });
    read(router, "/metrics").handler(this::metrics);
    read(router, "/zones").handler(this::listZones);
    read(router, "/zones/:zone/settings").handler(this::listSettings);
    read(router, "/zones/:zone/settings/:id").handler(this::getSetting);
    // Two routes: Vert.x Web wants a body handler first on its route, and the token is checked before.
    router.patch("/zones/:zone/settings/:id").handler(this::authorizeBeforeTheBody);
    router.patch("/zones/:zone/settings/:id").handler(BodyHandler.create(false).setBodyLimit(MAX_BODY_BYTES))
      .handler(this::patchSetting);
    // The router's own refusals in the API's envelope too, instead of an empty body or an HTML page.
    router.errorHandler(404, ctx -> error(ctx, 404, 1000, "no such endpoint: " + ctx.request().path()));
    router.errorHandler(405, ctx -> {
      // RFC 9110, section 15.5.6: a 405 lists the methods the resource takes.
      ctx.response().putHeader(HttpHeaders.ALLOW, SETTING.matcher(ctx.request().path()).matches()
        ? "GET, HEAD, PATCH" : "GET, HEAD");
      error(ctx, 405, 1008, "method " + ctx.request().method() + " not allowed here");
    });
    router.errorHandler(413, ctx -> error(ctx, 413, 1009, "request body over " + MAX_BODY_BYTES + " bytes"));
    server = vertx.createHttpServer(new HttpServerOptions().setHost(config.adminBind()).setPort(config.adminPort()))
      .requestHandler(router);
    return ProxyVerticle.listen(server, "admin_port", config.adminPort());
  }

  private static Route read(Router router, String path) {
    return router.route(path).method(HttpMethod.GET).method(HttpMethod.HEAD);
  }

  public int actualPort() {
    return server.actualPort();
  }

  private void metrics(RoutingContext ctx) {
    String body = registry == null ? "" : registry.scrape();
    ctx.response().putHeader("content-type", "text/plain; version=0.0.4; charset=utf-8").end(body);
  }

  private void listZones(RoutingContext ctx) {
    JsonArray result = new JsonArray();
    for (Zone zone : zones.get().zones()) {
      result.add(new JsonObject()
        .put("id", zone.name())
        .put("name", zone.name())
        .put("hosts", new JsonArray(zone.config().hosts()))
        .put("origins", new JsonArray(zone.config().origins().stream().map(Object::toString).toList())));
    }
    ok(ctx, result);
  }

  private void listSettings(RoutingContext ctx) {
    Zone zone = zone(ctx);
    if (zone == null) {
      return;
    }
    editable(zone).onComplete(ar -> {
      JsonArray result = new JsonArray();
      for (Setting s : Setting.values()) {
        result.add(new JsonObject().put("id", s.id()).put("value", zone.config().settings().get(s))
          .put("editable", ar.result()));
      }
      ok(ctx, result);
    });
  }

  /**
   * Whether a PATCH can change the zone: not a built-in zone (no file), nor one whose file is a symbolic
   * link, as a mounted ConfigMap's are (SettingsPatch refuses both with 409). Asked without blocking.
   */
  private Future<Boolean> editable(Zone zone) {
    Path source = zone.config().source();
    if (source == null) {
      return Future.succeededFuture(false);
    }
    return vertx.fileSystem().lprops(source.toString()).map(props -> !props.isSymbolicLink()).otherwise(false);
  }

  private void getSetting(RoutingContext ctx) {
    Zone zone = zone(ctx);
    if (zone == null) {
      return;
    }
    String id = ctx.pathParam("id");
    Setting setting = Setting.byId(id).orElse(null);
    if (setting == null) {
      error(ctx, 404, 1002, "unknown setting \"" + id + "\"");
      return;
    }
    editable(zone).onComplete(ar -> ok(ctx, new JsonObject().put("id", id)
      .put("value", zone.config().settings().get(setting)).put("editable", ar.result())));
  }

  /**
   * Refuses a write without the token before its body is read, and has the body read as the JSON it must
   * be whatever it is labelled: {@code curl -d} says form-urlencoded, and Vert.x's form decoder would
   * refuse a body past its field limit with a bare 400 and a burst of SEVERE logs.
   */
  private void authorizeBeforeTheBody(RoutingContext ctx) {
    if (authorized(ctx)) {
      ctx.request().headers().remove(HttpHeaders.CONTENT_TYPE);
      ctx.next();
    }
  }

  private void patchSetting(RoutingContext ctx) {
    Object value;
    try {
      value = SettingsPatch.value(ctx.body().asString(), ctx.pathParam("id"));
    } catch (IllegalArgumentException e) {
      error(ctx, 400, 1003, e.getMessage());
      return;
    }
    JsonObject patch = new JsonObject()
      .put("zone", ctx.pathParam("zone"))
      .put("id", ctx.pathParam("id"))
      .put("value", value);
    vertx.eventBus().<JsonObject>request(ConfigVerticle.PATCH_ADDRESS, patch).onComplete(ar -> {
      if (ar.failed()) {
        error(ctx, 500, 1005, "settings update failed: " + ar.cause().getMessage());
        return;
      }
      JsonObject reply = ar.result().body();
      json(ctx, reply.getInteger("status"), reply.getJsonObject("envelope"));
    });
  }

  private boolean authorized(RoutingContext ctx) {
    String header = ctx.request().getHeader("authorization");
    if (config.adminToken() == null) {
      error(ctx, 403, 10000, "admin writes are disabled: no admin token is configured");
      return false;
    }
    if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      ctx.response().putHeader("www-authenticate", "Bearer");
      error(ctx, 401, 10000, "missing bearer token");
      return false;
    }
    if (!MessageDigest.isEqual(sha256(header.substring(7).trim()), sha256(config.adminToken()))) {
      error(ctx, 403, 10000, "invalid token");
      return false;
    }
    return true;
  }

  /** Tokens are compared as digests, so neither their content nor their length shows in the timing. */
  private static byte[] sha256(String token) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  private Zone zone(RoutingContext ctx) {
    String name = ctx.pathParam("zone");
    Zone zone = zones.get().byName(name);
    if (zone == null) {
      error(ctx, 404, 1001, "unknown zone \"" + name + "\"");
    }
    return zone;
  }

  private static void ok(RoutingContext ctx, Object result) {
    json(ctx, 200, new JsonObject().put("success", true).put("errors", new JsonArray())
      .put("messages", new JsonArray()).put("result", result));
  }

  private static void error(RoutingContext ctx, int status, int code, String message) {
    json(ctx, status, new JsonObject().put("success", false)
      .put("errors", new JsonArray().add(new JsonObject().put("code", code).put("message", message)))
      .put("messages", new JsonArray()).putNull("result"));
  }

  private static void json(RoutingContext ctx, int status, JsonObject body) {
    ctx.response().setStatusCode(status).putHeader("content-type", "application/json").end(body.encode());
  }

  private static void text(RoutingContext ctx, int status, String body) {
    ctx.response().setStatusCode(status).putHeader("content-type", "text/plain").end(body);
  }
}
