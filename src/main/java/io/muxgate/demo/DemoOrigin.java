package io.muxgate.demo;

import io.muxgate.config.ZoneConfig;
import io.muxgate.frontend.ServerCertificate;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A small h2-over-TLS origin for {@code make run}: its page says which protocol the proxy used and which
 * proxy connection (by its port) carried the request, so reloading the page shows requests reusing one
 * multiplexed connection.
 */
public final class DemoOrigin {

  public static final String ZONE = "demo";

  private final Map<HttpConnection, AtomicLong> requestsPerConnection = new ConcurrentHashMap<>();
  private HttpServer server;

  public Future<DemoOrigin> start(Vertx vertx) {
    HttpServerOptions options = new HttpServerOptions()
      .setHost("127.0.0.1")
      .setPort(0)
      .setSsl(true)
      .setUseAlpn(true)
      .setAlpnVersions(List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1))
      .setKeyCertOptions(ServerCertificate.selfSigned());
    server = vertx.createHttpServer(options)
      .connectionHandler(conn -> {
        requestsPerConnection.put(conn, new AtomicLong());
        conn.closeHandler(v -> requestsPerConnection.remove(conn));
      })
      .requestHandler(this::page);
    return server.listen().map(s -> this);
  }

  /** The zone that serves the demo on localhost and 127.0.0.1. */
  public ZoneConfig zone() {
    return ZoneConfig.loopback(ZONE, List.of("localhost", "127.0.0.1", "demo.localhost"), server.actualPort());
  }

  private void page(HttpServerRequest request) {
    HttpConnection conn = request.connection();
    long served = requestsPerConnection.computeIfAbsent(conn, c -> new AtomicLong()).incrementAndGet();
    String protocol = request.version() == HttpVersion.HTTP_2 ? "HTTP/2" : "HTTP/1.1";
    String body = """
      <!doctype html>
      <html><head><meta charset="utf-8"><title>Muxgate demo origin</title></head>
      <body style="font-family: sans-serif; max-width: 42em; margin: 2em auto">
      <h1>Muxgate demo origin</h1>
      <p>This page was served by the built-in demo origin, through Muxgate.</p>
      <table>
      <tr><td>Proxy to origin protocol</td><td><b>%s</b></td></tr>
      <tr><td>Origin connection (proxy's local port)</td><td><b>%d</b></td></tr>
      <tr><td>Requests on this connection so far</td><td><b>%d</b></td></tr>
      <tr><td>Origin connections open</td><td><b>%d</b></td></tr>
      <tr><td>Client (x-forwarded-for)</td><td>%s</td></tr>
      <tr><td>Client protocol (via)</td><td>%s</td></tr>
      <tr><td>Path</td><td>%s</td></tr>
      </table>
      <p>Reload: the connection port stays the same while requests multiplex on one connection.</p>
      </body></html>
      """.formatted(protocol, conn.remoteAddress().port(), served, requestsPerConnection.size(),
      escape(request.getHeader("x-forwarded-for")), escape(request.getHeader("via")), escape(request.path()));
    request.response()
      .putHeader("content-type", "text/html; charset=utf-8")
      .putHeader("x-demo-origin-connection", Integer.toString(conn.remoteAddress().port()))
      .end(body);
  }

  private static String escape(String s) {
    if (s == null) {
      return "";
    }
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }

  public Future<Void> stop() {
    return server == null ? Future.succeededFuture() : server.close();
  }
}
