package io.muxgate.origin;

import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestScope;
import io.vertx.core.Future;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

  private static final long GOAWAY_AFTER_MS = 100;

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

  /**
   * An h2c origin that closed one connection on the Upgrade (a restart, say) gets HTTP/2 again once the
   * first HTTP/1.1 period is over: before, one such close meant HTTP/1.1 for as long as the zone lasted,
   * a connection per request in flight instead of one for a hundred.
   */
  @Test
  @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void anH2cOriginThatClosedOneUpgradeGetsHttp2Again() {
    HttpServer h2c = Await.result(scope.vertx().createHttpServer()
      // answered a little later, so that requests sent together overlap and need connections of their own
      .requestHandler(request -> scope.vertx().setTimer(20, id -> request.response().end(request.version().name())))
      .listen(0, "127.0.0.1"));
    // In front of it, a port that closes its first connection unread, then relays the others.
    AtomicInteger connections = new AtomicInteger();
    NetClient relay = scope.vertx().createNetClient();
    NetServer origin = Await.result(scope.vertx().createNetServer().connectHandler(socket -> {
      if (connections.getAndIncrement() == 0) {
        socket.close();
        return;
      }
      socket.pause();
      relay.connect(h2c.actualPort(), "127.0.0.1").onSuccess(upstream -> {
        socket.pipeTo(upstream);
        upstream.pipeTo(socket);
        socket.resume();
      }).onFailure(e -> socket.close());
    }).listen(0, "127.0.0.1"));
    ProxyHarness proxy = scope.startProxy("z", "http://127.0.0.1:" + origin.actualPort(), null);
    HttpClientAgent client = scope.client(ClientKind.HTTP1, proxy);

    // Before the request whose closed Upgrade starts the HTTP/1.1 period: a busy machine only lengthens the wait.
    long start = System.nanoTime();
    Exchange first = Await.result(Exchange.get(client, "z.test", "/first"));
    assertEquals("200 HTTP_1_1", first.status() + " " + first.body(), "served over HTTP/1.1 after the close");

    Await.until(() -> {
      List<Exchange> answers = Await.result(Future.all(Exchange.get(client, "z.test", "/a"),
        Exchange.get(client, "z.test", "/b"))).list();
      return answers.stream().anyMatch(a -> a.body().equals("HTTP_2"));
    }, 30_000, "a request over HTTP/2 again");
    long waited = System.nanoTime() - start;
    assertTrue(waited >= OriginConnector.FIRST_RETRY_NANOS - TimeUnit.MILLISECONDS.toNanos(100),
      "HTTP/1.1 for the first period: " + waited / 1_000_000 + " ms");
  }

  /**
   * Apache's mod_http2 takes the h2c Upgrade and answers its request in HTTP/2, then ends the connection
   * with GOAWAY(last-stream-id 1) before any other: every request sent on such a connection was refused,
   * and on the next one alike, until its attempts ran out (a black-box run through Apache 2.4 answered 98 %
   * of them 520). Such an origin is treated as one that closed the connection on the Upgrade.
   */
  @Test
  void anOriginEndingEachUpgradedConnectionAfterTheUpgradeGetsHttp11() {
    HttpServer origin = Await.result(scope.vertx().createHttpServer()
      .requestHandler(request -> {
        request.response().end(request.version().name());
        if (request.version() == HttpVersion.HTTP_2 && request.method() == HttpMethod.OPTIONS) {
          request.connection().goAway(0, 1);
        }
      })
      .listen(0, "127.0.0.1"));
    ProxyHarness proxy = scope.startProxy("z", "http://127.0.0.1:" + origin.actualPort(), null);
    HttpClientAgent client = scope.client(ClientKind.HTTP1, proxy);

    for (int i = 0; i < 5; i++) {
      Exchange answer = Await.result(Exchange.get(client, "z.test", "/r" + i));
      assertEquals(200, answer.status(), "request " + i + ": " + answer.header("muxgate-error"));
      assertEquals("HTTP_1_1", answer.body(), "request " + i);
    }
  }

  /**
   * The same origin met by a cold burst. Every connection opened for it used to ask for the Upgrade, as
   * many as the burst had requests up to the zone's cap, before the first GOAWAY told the pool; each
   * ended so, and requests refused on one after another ran out of attempts (through Apache 2.4.68, about
   * 250 of a cold h2load burst of 20,000 were 520). The first connections are expected to carry the
   * stream cap, as for any HTTP/2 origin, so a burst asks for the Upgrade on a few connections only.
   */
  @Test
  void aColdBurstToAnOriginEndingEachUpgradedConnectionIsServed() {
    HttpServer origin = Await.result(scope.vertx().createHttpServer()
      .requestHandler(request -> {
        request.response().end(request.version().name());
        if (request.version() == HttpVersion.HTTP_2 && request.method() == HttpMethod.OPTIONS) {
          // A moment later, as Apache's comes: the connection is taken into service and given streams first.
          HttpConnection connection = request.connection();
          scope.vertx().setTimer(GOAWAY_AFTER_MS, id -> connection.goAway(0, 1));
        }
      })
      .listen(0, "127.0.0.1"));
    ProxyHarness proxy = scope.startProxy("z", "http://127.0.0.1:" + origin.actualPort(), null);
    HttpClientAgent client = scope.client(ClientKind.H2C, proxy);

    List<Future<Exchange>> answers = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      answers.add(Exchange.get(client, "z.test", "/r" + i));
    }
    for (int i = 0; i < answers.size(); i++) {
      Exchange answer = Await.result(answers.get(i));
      assertEquals(200, answer.status(), "request " + i + ": " + answer.header("muxgate-error"));
    }
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
