package io.muxgate.origin;

import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestScope;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * An {@code http://} origin with the default version "2" gets an h2c Upgrade attempt that falls back to
 * HTTP/1.1 — also with the HTTP/1.x servers that answer the attempt by closing the connection, as many
 * do: Python's http.server (HTTP/1.0, 501 to OPTIONS, then close), the Node {@code ws} library (400 to
 * an Upgrade it does not take, then close), a Node server whose upgrade listener drops the socket.
 */
class H2cUpgradeFallbackTest {

  /** How a plain HTTP/1.x origin treats the proxy's h2c Upgrade attempt. */
  enum Refusal {
    /** HTTP/1.0 server: 501 to OPTIONS, and every response closes its connection. */
    HTTP10_CLOSES_EVERY_CONNECTION,
    /** HTTP/1.1 keep-alive server that answers any Upgrade with 400 and closes. */
    UPGRADE_GETS_400_AND_CLOSE,
    /** HTTP/1.1 keep-alive server that drops the connection of any Upgrade request unanswered. */
    UPGRADE_DROPPED
  }

  @RegisterExtension
  final TestScope scope = new TestScope();
  private final List<String> seen = new CopyOnWriteArrayList<>();

  @ParameterizedTest
  @EnumSource(Refusal.class)
  void requestsFallBackToHttp11(Refusal refusal) {
    NetServer origin = Await.result(scope.vertx().createNetServer()
      .connectHandler(socket -> serve(socket, refusal))
      .listen(0, "127.0.0.1"));
    ProxyHarness proxy = scope.startProxy("z", "http://127.0.0.1:" + origin.actualPort(), null);
    HttpClientAgent client = scope.client(ClientKind.HTTP1, proxy);

    for (int i = 0; i < 3; i++) {
      Exchange answer = Await.result(Exchange.get(client, "z.test", "/page" + i));
      assertEquals(200, answer.status(), refusal + ", request " + i + ": " + answer.body() + " " + seen);
      assertEquals("hello /page" + i, answer.body());
    }
    assertEquals(3, seen.stream().filter(r -> r.startsWith("GET")).count(),
      "each GET reached the origin once: " + seen);
    assertEquals(1, seen.stream().filter(r -> r.startsWith("OPTIONS")).count(),
      "one refused Upgrade is enough: " + seen);
  }

  /** Reads request heads (no bodies here) from {@code socket} and answers as {@code refusal} says. */
  private void serve(NetSocket socket, Refusal refusal) {
    StringBuilder pending = new StringBuilder();
    socket.handler(bytes -> {
      pending.append(bytes.toString(StandardCharsets.ISO_8859_1));
      int end;
      while ((end = pending.indexOf("\r\n\r\n")) >= 0) {
        String head = pending.substring(0, end);
        pending.delete(0, end + 4);
        String requestLine = head.substring(0, head.indexOf("\r\n"));
        seen.add(requestLine);
        boolean upgrade = head.toLowerCase(Locale.ROOT).contains("\r\nupgrade:");
        String body = "hello " + requestLine.split(" ")[1];
        String ok = "200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body;
        switch (refusal) {
          case HTTP10_CLOSES_EVERY_CONNECTION -> {
            socket.write(requestLine.startsWith("OPTIONS")
              ? "HTTP/1.0 501 Unsupported method\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
              : "HTTP/1.0 " + ok);
            socket.close();
            return;
          }
          case UPGRADE_GETS_400_AND_CLOSE -> {
            if (upgrade) {
              socket.write("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
              socket.close();
              return;
            }
          }
          case UPGRADE_DROPPED -> {
            if (upgrade) {
              socket.close();
              return;
            }
          }
        }
        socket.write("HTTP/1.1 " + ok);
      }
    });
  }
}
