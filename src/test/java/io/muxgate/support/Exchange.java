package io.muxgate.support;

import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.HostAndPort;

import java.util.function.Consumer;

/** A finished request as a test sees it, and helpers to make one through a proxy with a given Host. */
public record Exchange(int status, MultiMap headers, String body, HttpVersion version) {

  public static Future<Exchange> get(HttpClient client, String host, String path) {
    return send(client, HttpMethod.GET, host, path, req -> {
    }, null);
  }

  public static Future<Exchange> send(HttpClient client, HttpMethod method, String host, String path,
                                      Consumer<HttpClientRequest> customize, Buffer body) {
    return client.request(method, path).compose(req -> {
      req.authority(HostAndPort.create(host, -1));
      customize.accept(req);
      Future<io.vertx.core.http.HttpClientResponse> sent = body == null ? req.send() : req.send(body);
      return sent.compose(resp -> resp.body().map(b -> new Exchange(resp.statusCode(), resp.headers(),
        b.toString(), resp.version())));
    });
  }

  public String header(String name) {
    return headers.get(name);
  }
}
