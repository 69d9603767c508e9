package io.muxgate.origin;

import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestScope;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An {@code http://} origin that answers the h2c Upgrade oddly: with a 101 to another protocol (a WebSocket
 * server answering any Upgrade so), with a 1xx before its answer, or with a 101 to h2c and then bytes that
 * are no HTTP/2. None may hang the proxy past its deadlines, and one that switched to another protocol is an
 * origin that does not do h2c, served over HTTP/1.1 as one answering the Upgrade in HTTP/1.1 is.
 */
class OddUpgradeAnswerTest {

  /** 101 answers to the Upgrade to a protocol other than h2c. */
  enum OtherProtocol {
    WEBSOCKET("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"),
    UNKNOWN("HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo/1\r\nConnection: Upgrade\r\n\r\n");

    final String answer;

    OtherProtocol(String answer) {
      this.answer = answer;
    }
  }

  @RegisterExtension
  final TestScope scope = new TestScope();
  private final List<String> seen = new CopyOnWriteArrayList<>();
  private final AtomicInteger closed = new AtomicInteger();

  @ParameterizedTest
  @EnumSource(OtherProtocol.class)
  void aSwitchToAnotherProtocolIsServedOverHttp11(OtherProtocol protocol) {
    int port = origin(head -> upgrade(head) ? protocol.answer : null);
    threeGetsServedThrough(port);
    assertEquals(3, seen.stream().filter(r -> r.startsWith("GET")).count(), "each GET reached the origin once: " + seen);
    assertEquals(1, seen.stream().filter(r -> r.startsWith("OPTIONS")).count(), "asked for the Upgrade once: " + seen);
    // The switched connection speaks another protocol now: the proxy lets it go.
    Await.until(() -> closed.get() == 1, 10_000, "the switched connection closed");
  }

  /** 100 Continue or 103 Early Hints ahead of the origin's answers, to the Upgrade's OPTIONS and to each GET. */
  @ParameterizedTest
  @ValueSource(strings = {"100 Continue", "103 Early Hints"})
  void anInterimAnswerBeforeTheAnswerIsPassedOver(String interim) {
    int port = origin(head -> "HTTP/1.1 " + interim + "\r\n\r\n" + ok(head));
    threeGetsServedThrough(port);
  }

  /**
   * 100 or 103 before a 101 to h2c: Netty takes the first answer for the Upgrade's, a refusal, and the 101
   * comes to the HTTP/1.1 connection as the OPTIONS' answer. Served over HTTP/1.1 then, not left waiting.
   */
  @ParameterizedTest
  @ValueSource(strings = {"100 Continue", "103 Early Hints"})
  void anInterimAnswerBeforeASwitchToH2cEndsInHttp11(String interim) {
    int port = origin(head -> upgrade(head)
      ? "HTTP/1.1 " + interim + "\r\n\r\nHTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n"
      : null);
    threeGetsServedThrough(port);
  }

  /**
   * A 101 to h2c followed by bytes that are no HTTP/2 connection preface: Vert.x never fails such a setup,
   * so it ends at the setup deadline, with a 524; the proxy answers, and goes on answering.
   */
  @Test
  void aSwitchToH2cFollowedByGarbageEndsAtTheSetupDeadline() {
    int port = origin(head -> upgrade(head)
      ? "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\nthis is not HTTP/2\r\n\r\n"
      : null);
    ProxyHarness proxy = scope.startProxy("z", "http://127.0.0.1:" + port,
      new JsonObject().put("proxy_connect_timeout", 1).put("proxy_read_timeout", 2));
    HttpClientAgent client = scope.client(ClientKind.HTTP1, proxy);

    for (int i = 0; i < 2; i++) {
      Exchange answer = Await.result(Exchange.get(client, "z.test", "/page" + i));
      assertTrue(answer.status() == 524 || answer.status() == 520, "request " + i + ": " + answer.status()
        + " " + answer.header("muxgate-error"));
    }
  }

  private static boolean upgrade(String head) {
    return head.toLowerCase(Locale.ROOT).contains("\r\nupgrade:");
  }

  private static String ok(String head) {
    String body = "hello " + head.split(" ")[1];
    return "HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body;
  }

  /**
   * A raw HTTP/1.1 origin (request heads only, no bodies) that writes {@code answer} of each head; where
   * that is null, a plain 200. After a 101 it reads nothing more.
   */
  /** Three GETs through a proxy in front of the origin on {@code port}, each answered 200 by the origin. */
  private void threeGetsServedThrough(int port) {
    ProxyHarness proxy = scope.startProxy("z", "http://127.0.0.1:" + port, null);
    HttpClientAgent client = scope.client(ClientKind.HTTP1, proxy);
    for (int i = 0; i < 3; i++) {
      Exchange answer = Await.result(Exchange.get(client, "z.test", "/page" + i));
      assertEquals(200, answer.status(), "request " + i + ": " + answer.header("muxgate-error") + " " + seen);
      assertEquals("hello /page" + i, answer.body());
    }
  }

  private int origin(Function<String, String> answer) {
    NetServer server = Await.result(scope.vertx().createNetServer()
      .connectHandler(socket -> serve(socket, answer))
      .listen(0, "127.0.0.1"));
    return server.actualPort();
  }

  private void serve(NetSocket socket, Function<String, String> answer) {
    StringBuilder pending = new StringBuilder();
    boolean[] switched = new boolean[1];
    socket.closeHandler(v -> {
      if (switched[0]) {
        closed.incrementAndGet();
      }
    });
    socket.handler(bytes -> {
      pending.append(bytes.toString(StandardCharsets.ISO_8859_1));
      int end;
      while (!switched[0] && (end = pending.indexOf("\r\n\r\n")) >= 0) {
        String head = pending.substring(0, end);
        pending.delete(0, end + 4);
        seen.add(head.substring(0, head.indexOf("\r\n")));
        String written = answer.apply(head);
        written = written == null ? ok(head) : written;
        switched[0] = written.contains("HTTP/1.1 101 ");
        socket.write(written);
      }
    });
  }
}
