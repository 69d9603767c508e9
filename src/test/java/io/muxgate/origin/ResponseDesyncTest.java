package io.muxgate.origin;

import io.muxgate.frontend.ServerCertificate;
import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestScope;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * An HTTP/1.1 origin that sends more than its response (bytes past the Content-Length), or sends a
 * response nobody asked for, never gets those bytes served as the answer to a later request on the
 * connection, which may be another client's: the connection is given up and the next request goes on a
 * fresh one.
 */
class ResponseDesyncTest {

  private static final String NEXT_RESPONSE = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil";

  @RegisterExtension
  final TestScope scope = new TestScope();

  /** Each way an origin can go past its response: a whole response more, part of one, the bare end of one. */
  static Stream<Arguments> surplus() {
    List<String> surplus = List.of(NEXT_RESPONSE, "HTTP/1.1 200 OK\r\n", "HTTP/1.1 200 OK\r\nX-Evil: yes\r\n",
      "HTTP/1.1 200 OK\r\nContent-Len", "evil");
    return Stream.of(false, true).flatMap(tls -> surplus.stream().map(bytes -> Arguments.of(tls, bytes)));
  }

  @ParameterizedTest(name = "tls {0}, surplus {1}")
  @MethodSource("surplus")
  void bytesPastAResponseAreNotTheNextRequestsAnswer(boolean tls, String surplus) {
    RawOrigin origin = new RawOrigin(tls, request -> {
      String response = answer(request);
      return request.startsWith("GET /one ") ? response + surplus : response;
    });
    HttpClient client = scope.client(ClientKind.HTTP1, origin.proxy());

    assertEquals("answer to /one", Await.result(Exchange.get(client, "z.test", "/one")).body());
    Exchange second = Await.result(Exchange.get(client, "z.test", "/two"));

    assertEquals(200, second.status(), second.body());
    assertEquals("answer to /two", second.body());
    assertEquals(2, origin.connections.size(), "connections the origin saw");
  }

  @ParameterizedTest(name = "tls {0}, unsolicited {1}")
  @MethodSource("surplus")
  void bytesNobodyAskedForRetireTheIdleConnection(boolean tls, String unsolicited) {
    RawOrigin origin = new RawOrigin(tls, ResponseDesyncTest::answer);
    HttpClient client = scope.client(ClientKind.HTTP1, origin.proxy());
    assertEquals("answer to /one", Await.result(Exchange.get(client, "z.test", "/one")).body());

    NetSocket first = origin.connections.get(0);
    first.write(Buffer.buffer(unsolicited));
    Await.result(origin.closed(first), 10);
    Exchange second = Await.result(Exchange.get(client, "z.test", "/two"));

    assertEquals("answer to /two", second.body());
    assertEquals(2, origin.connections.size(), "connections the origin saw");
  }

  private static String answer(String request) {
    String body = "answer to " + request.split(" ")[1];
    return "HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body;
  }

  /**
   * An HTTP/1.1 origin on a raw socket, cleartext or TLS (no ALPN: Muxgate then speaks HTTP/1.1 to it),
   * answering each request head with whatever {@code answer} makes of it.
   */
  private final class RawOrigin {

    final List<NetSocket> connections = new CopyOnWriteArrayList<>();
    private final Map<NetSocket, Promise<Void>> closes = new ConcurrentHashMap<>();
    private final NetServer server;
    private final boolean tls;

    RawOrigin(boolean tls, Function<String, String> answer) {
      this.tls = tls;
      NetServerOptions options = new NetServerOptions();
      if (tls) {
        options.setSsl(true).setKeyCertOptions(ServerCertificate.selfSigned());
      }
      server = Await.result(scope.vertx().createNetServer(options)
        .connectHandler(socket -> {
          Promise<Void> closed = Promise.promise();
          closes.put(socket, closed);
          connections.add(socket);
          socket.closeHandler(closed::complete);
          StringBuilder received = new StringBuilder();
          socket.handler(bytes -> {
            received.append(bytes.toString());
            int end;
            while ((end = received.indexOf("\r\n\r\n")) >= 0) {
              String head = received.substring(0, end);
              received.delete(0, end + 4);
              socket.write(Buffer.buffer(answer.apply(head)));
            }
          });
        })
        .listen(0, "127.0.0.1"));
    }

    /** Muxgate with one zone on this origin, at most one connection to it, HTTP/1.1 only in cleartext. */
    ProxyHarness proxy() {
      if (tls) {
        // https:// with h2 allowed: the origin offers no ALPN, so HTTP/1.1 is what gets negotiated.
        return scope.startProxy(Map.of("z.json", ProxyHarness.zone("z", "z.test",
          List.of("https://127.0.0.1:" + server.actualPort()), new JsonObject().put("origin_max_connections", 1))
          .put("origin_tls_verify", false)));
      }
      return scope.startProxy("z", "http://127.0.0.1:" + server.actualPort(),
        new JsonObject().put("origin_max_http_version", "1").put("origin_max_connections", 1));
    }

    Future<Void> closed(NetSocket socket) {
      return closes.get(socket).future();
    }
  }
}
