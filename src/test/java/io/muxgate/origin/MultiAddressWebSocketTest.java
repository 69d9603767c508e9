package io.muxgate.origin;

import io.muxgate.support.Await;
import io.muxgate.support.ProxyHarness;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.Collectors;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * WebSockets to an origin named by a DNS name with several A records (served by a loopback DNS stub):
 * their connections, of their own, go over the addresses as the pool's do, tried in turn, spread over
 * them, and keep the name for TLS. As in {@link MultiAddressOriginTest}, an origin on 127.0.0.1 leaves
 * the same port on 127.0.0.2 refusing, and a second origin takes it on 127.0.0.3.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MultiAddressWebSocketTest {

  private LoopbackDnsStub dns;
  private Vertx vertx;
  private HttpServer echo1;
  private HttpServer echo3;
  private NamedTlsOrigin namedTls;
  /** Answers every upgrade 403; its connections open now. */
  private HttpServer refusing;
  private final AtomicInteger refusingOpen = new AtomicInteger();
  private ProxyHarness proxy;
  private WebSocketClient client;

  @BeforeAll
  void start() {
    dns = new LoopbackDnsStub(Map.of(
      "ws-dead-first.test", List.of("127.0.0.2", "127.0.0.1"),
      "ws-two-live.test", List.of("127.0.0.1", "127.0.0.3"),
      "ws-origin.test", List.of("127.0.0.2", "127.0.0.1"),
      "ws-refusing.test", List.of("127.0.0.1")));
    vertx = dns.vertx();
    echo1 = echoOrigin("127.0.0.1", 0);
    int port = echo1.actualPort();
    echo3 = echoOrigin("127.0.0.3", port);
    namedTls = new NamedTlsOrigin(vertx, "ws-origin.test");
    refusing = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
      .connectionHandler(connection -> {
        refusingOpen.incrementAndGet();
        connection.closeHandler(v -> refusingOpen.decrementAndGet());
      })
      .webSocketHandshakeHandler(handshake -> handshake.reject(403))
      .listen().await();
    Map<String, JsonObject> zones = new HashMap<>();
    zones.put("dead-first.json", zone("dead-first", "dead-first.example",
      List.of("http://ws-dead-first.test:" + port), null));
    zones.put("spread.json", zone("spread", "spread.example", List.of("http://ws-two-live.test:" + port), null));
    zones.put("tls.json", zone("tls", "tls.example", List.of("https://ws-origin.test:" + namedTls.port()), null)
      .put("origin_ca_file", namedTls.certificateFile().toString()));
    zones.put("refusing.json", zone("refusing", "refusing.example",
      List.of("http://ws-refusing.test:" + refusing.actualPort()), null));
    proxy = ProxyHarness.start(vertx, zones);
    client = vertx.createWebSocketClient();
  }

  /** A WebSocket origin on {@code ip} that answers each message with the address its connection came to. */
  private HttpServer echoOrigin(String ip, int port) {
    return vertx.createHttpServer(new HttpServerOptions().setHost(ip).setPort(port))
      .webSocketHandler(ws -> ws.textMessageHandler(text -> ws.writeTextMessage(ws.localAddress().host())))
      .requestHandler(request -> request.response().setStatusCode(404).end())
      .listen().await();
  }

  @AfterAll
  void stop() {
    if (client != null) {
      Await.result(client.close(), 5);
    }
    if (proxy != null) {
      proxy.close();
    }
    if (namedTls != null) {
      namedTls.close();
    }
    Await.result(vertx.close(), 10);
    if (dns != null) {
      dns.close();
    }
  }

  @Test
  void aWebSocketToADeadFirstAddressFallsThroughToTheLiveOne() {
    WebSocket ws = connect("dead-first.example");
    assertEquals("127.0.0.1", exchange(ws, "hi"));
    Await.result(ws.close(), 10);
  }

  /** Each tunnel's connection starts one address further along, as a pool's connections do. */
  @Test
  void tunnelsSpreadOverTheAddresses() {
    List<WebSocket> open = new ArrayList<>();
    List<String> reachedAt = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      WebSocket ws = connect("spread.example");
      open.add(ws);
      reachedAt.add(exchange(ws, "where"));
    }
    Map<String, Long> byAddress = reachedAt.stream()
      .collect(Collectors.groupingBy(Function.identity(), Collectors.counting()));
    assertEquals(Map.of("127.0.0.1", 2L, "127.0.0.3", 2L), byAddress);
    open.forEach(ws -> Await.result(ws.close(), 10));
  }

  /** Past a dead first address, the tunnel's TLS still indicates and verifies the name, never the IP. */
  @Test
  void aTunnelOverTlsKeepsTheNameForSniAndVerification() {
    WebSocket ws = connect("tls.example");
    assertEquals("secure hi", exchange(ws, "hi"));
    Await.result(ws.close(), 10);
    namedTls.assertOnlyNameSeen("tls.example");
  }

  /** The answer reaches the client, and the connection it came on, which no pool will use again, closes. */
  @Test
  void aConnectionAnsweredWithoutA101IsClosed() {
    UpgradeRejectedException refused = assertThrows(UpgradeRejectedException.class,
      () -> connect("refusing.example"));
    assertEquals(403, refused.getStatus());
    Await.until(() -> refusingOpen.get() == 0, "the origin's connection closed");
  }

  private WebSocket connect(String host) {
    return Await.result(client.connect(new WebSocketConnectOptions()
      .setHost("127.0.0.1").setPort(proxy.httpPort()).setURI("/chat").putHeader("host", host)), 15);
  }

  /** Sends {@code text} and returns the origin's answer to it. */
  private static String exchange(WebSocket ws, String text) {
    Promise<String> reply = Promise.promise();
    ws.textMessageHandler(reply::tryComplete);
    ws.writeTextMessage(text);
    return Await.result(reply.future(), 10);
  }
}
