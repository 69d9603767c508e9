package io.muxgate.admin;

import io.muxgate.support.Await;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Calls to a running Muxgate's admin port, as an operator's script or Prometheus would make them. */
public final class AdminApi {

  /** One admin answer. */
  public record Answer(int status, MultiMap headers, String body) {
    public JsonObject json() {
      return new JsonObject(body);
    }
  }

  private final HttpClient client;
  private final int port;

  public AdminApi(Vertx vertx, int port) {
    this.client = vertx.createHttpClient(new HttpClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(port));
    this.port = port;
  }

  public Answer get(String path) {
    return Await.result(send(HttpMethod.GET, path, null, null), 10);
  }

  /** PATCH {@code {"value": value}}; {@code token} null sends no Authorization header. */
  public Future<Answer> patchAsync(String path, String token, Object value) {
    return send(HttpMethod.PATCH, path, token, new JsonObject().put("value", value).toBuffer());
  }

  public Answer patch(String path, String token, Object value) {
    return Await.result(patchAsync(path, token, value), 20);
  }

  public Future<Answer> send(HttpMethod method, String path, String token, Buffer body) {
    RequestOptions options = new RequestOptions().setMethod(method).setURI(path).setPort(port);
    if (token != null) {
      options.putHeader("authorization", "Bearer " + token);
    }
    if (body != null) {
      options.putHeader("content-type", "application/json");
    }
    // The body is read inside the send callback: chained one level out, from a thread outside Vert.x, the
    // response can end before body() is called and the future never completes.
    return client.request(options).compose(req -> (body == null ? req.send() : req.send(body))
      .compose(resp -> resp.body().map(b -> new Answer(resp.statusCode(), resp.headers(), b.toString()))));
  }

  /** The value of one Prometheus sample on /metrics, 0 when the series does not exist yet. */
  public double metric(String name, String labels) {
    String text = get("/metrics").body();
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name + "{" + labels) + ",?\\} (\\S+)$").matcher(text);
    return m.find() ? Double.parseDouble(m.group(1)) : 0;
  }

  /** The sum of every series of {@code name} labelled with {@code zone}, whatever its other labels. */
  public double sumForZone(String name, String zone) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "\\{([^}]*)\\} (\\S+)$")
      .matcher(get("/metrics").body());
    double sum = 0;
    while (m.find()) {
      if (m.group(1).contains("zone=\"" + zone + "\"")) {
        sum += Double.parseDouble(m.group(2));
      }
    }
    return sum;
  }

  public double rejectedReloads() {
    return metric("muxgate_config_reloads_total", "result=\"rejected\"");
  }

  public double appliedReloads() {
    return metric("muxgate_config_reloads_total", "result=\"applied\"");
  }
}
