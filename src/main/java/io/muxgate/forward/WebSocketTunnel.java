package io.muxgate.forward;

import io.muxgate.origin.OriginClients;
import io.muxgate.origin.OriginFailure;
import io.muxgate.origin.OriginPeer;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.NetSocket;

/**
 * A WebSocket (HTTP/1.1 Upgrade) carried to the origin over an HTTP/1.1 connection of its own: the
 * upgrade request goes out with its Upgrade headers, and once the origin answers 101 both sides become
 * raw byte pipes with back-pressure. Any other answer is relayed as an ordinary response.
 */
final class WebSocketTunnel {

  private final HttpServerRequest request;
  private final OriginPeer peer;
  private final HttpClientAgent client;
  private final MultiMap originHeaders;
  private final String uri;

  WebSocketTunnel(HttpServerRequest request, OriginPeer peer, HttpClientAgent client, MultiMap originHeaders,
                  String uri) {
    this.request = request;
    this.peer = peer;
    this.client = client;
    this.originHeaders = originHeaders;
    this.uri = uri;
  }

  static boolean isWebSocketUpgrade(HttpServerRequest request) {
    return request.version() != HttpVersion.HTTP_2 && request.method() == HttpMethod.GET
      && "websocket".equalsIgnoreCase(request.getHeader(HttpHeaders.UPGRADE));
  }

  /** Completes with the status sent to the client: 101 once the tunnel is open. */
  Future<Integer> start() {
    request.pause();
    originHeaders.set(HttpHeaders.CONNECTION, HttpHeaders.UPGRADE);
    originHeaders.set(HttpHeaders.UPGRADE, request.getHeader(HttpHeaders.UPGRADE));
    RequestOptions options = OriginClients.upgradeRequestOptions(peer)
      .setMethod(HttpMethod.GET)
      .setURI(uri)
      .setHeaders(originHeaders);
    return client.request(options)
      .compose(req -> {
        req.authority(request.authority());
        // A tunnel ends by closing the origin connection under this request; without a handler Vert.x
        // logs that as SEVERE for every WebSocket. A failure to connect still fails connect().
        req.exceptionHandler(closed -> { });
        return req.connect().map(this::open);
      })
      .recover(t -> {
        OriginFailure failure = OriginFailure.ofConnect(t, peer.address().scheme().tls());
        request.resume();
        Forwarder.writeError(request.response(), failure.kind().status(), failure.kind().reason());
        return Future.succeededFuture(failure.kind().status());
      });
  }

  private int open(HttpClientResponse originResponse) {
    HttpServerResponse response = request.response();
    response.setStatusCode(originResponse.statusCode());
    Headers.copy(originResponse.headers(), response.headers());
    if (originResponse.statusCode() != 101) {
      request.resume();
      originResponse.body().onComplete(ar -> response.end(ar.succeeded() ? ar.result() : null));
      return originResponse.statusCode();
    }
    NetSocket origin = originResponse.netSocket();
    response.headers().set(HttpHeaders.CONNECTION, HttpHeaders.UPGRADE);
    response.headers().set(HttpHeaders.UPGRADE, originResponse.getHeader(HttpHeaders.UPGRADE));
    request.toNetSocket().onComplete(ar -> {
      if (ar.failed()) {
        origin.close();
        return;
      }
      NetSocket client = ar.result();
      client.pipeTo(origin);
      origin.pipeTo(client);
      client.closeHandler(v -> origin.close());
      origin.closeHandler(v -> client.close());
    });
    return 101;
  }
}
