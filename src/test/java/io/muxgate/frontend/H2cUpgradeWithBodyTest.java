package io.muxgate.frontend;

import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.GeneratedBody;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.http.HttpVersion;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An h2c Upgrade whose request has a body or an Expect is declined and the request served as HTTP/1.1,
 * as curl sends them ({@code curl --http2 -T file}, {@code --data-binary @file}): taken, it left the
 * client waiting for a 100 after the 101, or stalled a large body part way. A bodiless one still upgrades.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class H2cUpgradeWithBodyTest {

  /** More than the 5 MB upload that stalled part way after a taken Upgrade: declined, it goes through whole. */
  private static final int LARGE_BODY = 8 * 1024 * 1024;
  /** curl's Upgrade headers. */
  private static final String UPGRADE = "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
    + "HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n";

  @RegisterExtension
  final TestScope scope = new TestScope();
  private ProxyHarness proxy;

  @BeforeAll
  void start() {
    // The proxy passes Expect on: the origin answers it, as most servers do by themselves.
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(request -> {
      if (request.headers().contains("expect", "100-continue", true)) {
        request.response().writeContinue();
      }
      GeneratedBody.digest(request).onSuccess(read -> {
        String answer = read.bytes() + " " + read.sha256();
        request.response().putHeader("content-length", String.valueOf(answer.length())).end(answer);
      });
    });
    proxy = scope.startProxy("z", origin.url(), null);
  }

  @Test
  void anUpgradeExpectingContinueGetsItsContinueAndAnHttp11Answer() throws IOException {
    byte[] body = body(1024 * 1024);
    try (Socket socket = connect()) {
      send(socket, head("POST", "/expect", body.length) + "Expect: 100-continue\r\n\r\n");
      String interim = readHead(socket.getInputStream());
      assertTrue(interim.startsWith("HTTP/1.1 100 "), "a 100 before the body, no 101:\n" + interim);
      send(socket, body);

      String head = readHead(socket.getInputStream());
      assertTrue(head.startsWith("HTTP/1.1 200 "), head);
      assertEquals(body.length + " " + sha256(body), readBody(socket.getInputStream(), head));
    }
  }

  @Test
  void anUpgradeWithALargeBodyIsServedAsHttp11() throws Exception {
    byte[] body = body(LARGE_BODY);
    try (Socket socket = connect()) {
      // Written on a thread of its own: a body the proxy stops reading would block the test's thread.
      CompletableFuture<Void> written = CompletableFuture.runAsync(() -> {
        send(socket, head("PUT", "/large", body.length) + "\r\n");
        send(socket, body);
      });

      String head = readHead(socket.getInputStream());
      assertTrue(head.startsWith("HTTP/1.1 200 "), "the Upgrade declined, the body read:\n" + head);
      assertEquals(body.length + " " + sha256(body), readBody(socket.getInputStream(), head));
      written.get(10, TimeUnit.SECONDS);
    }
  }

  /** Vert.x answered these 400 and closed: the Upgrade is ignored instead, as RFC 9110, section 7.8 allows. */
  @ParameterizedTest
  @ValueSource(strings = {"Upgrade: h2c\r\n", "Connection: Upgrade\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABk\r\n",
    "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"})
  void anIncompleteUpgradeIsIgnored(String upgrade) throws IOException {
    try (Socket socket = connect()) {
      send(socket, "GET /incomplete HTTP/1.1\r\nHost: z.test\r\n" + upgrade + "\r\n");

      String head = readHead(socket.getInputStream());
      assertTrue(head.startsWith("HTTP/1.1 200 "), head);
      assertEquals("0 " + sha256(new byte[0]), readBody(socket.getInputStream(), head));
    }
  }

  /**
   * A head that no HTTP/2 stream can carry (a header line with no name) stays HTTP/1.1 and gets the proxy's
   * 400: taken, Vert.x failed to turn it into stream 1 after its 101, which was then never answered.
   */
  @Test
  void anUpgradeWithAnEmptyHeaderNameIsRefusedInHttp11() throws IOException {
    try (Socket socket = connect()) {
      send(socket, "GET /unnamed HTTP/1.1\r\nHost: z.test\r\n" + UPGRADE + ": b\r\n\r\n");

      String head = readHead(socket.getInputStream());
      assertTrue(head.startsWith("HTTP/1.1 400 "), head);
      assertTrue(head.toLowerCase(Locale.ROOT).contains("\r\nmuxgate-error: bad_request\r\n"), head);
    }
  }

  @Test
  void aBodilessUpgradeStillSwitchesToHttp2() {
    Exchange get = Await.result(Exchange.get(scope.client(ClientKind.H2C_UPGRADE, proxy), "z.test", "/bodiless"));

    assertEquals(HttpVersion.HTTP_2, get.version(), "Vert.x's client speaks HTTP/2 only after a 101");
    assertEquals("0 " + sha256(new byte[0]), get.body());
  }

  private Socket connect() throws IOException {
    Socket socket = new Socket("127.0.0.1", proxy.httpPort());
    socket.setSoTimeout(20_000);
    return socket;
  }

  private static String head(String method, String path, int contentLength) {
    return method + " " + path + " HTTP/1.1\r\nHost: z.test\r\n" + UPGRADE + "Content-Length: " + contentLength + "\r\n";
  }

  private static void send(Socket socket, String text) {
    send(socket, text.getBytes(StandardCharsets.US_ASCII));
  }

  private static void send(Socket socket, byte[] bytes) {
    try {
      OutputStream out = socket.getOutputStream();
      out.write(bytes);
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A response head up to its blank line, one byte at a time so that nothing of what follows is consumed. */
  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        throw new AssertionError("connection closed after: " + head.toString(StandardCharsets.ISO_8859_1));
      }
      head.write(b);
    }
    return head.toString(StandardCharsets.ISO_8859_1);
  }

  private static String readBody(InputStream in, String head) throws IOException {
    String length = head.toLowerCase(Locale.ROOT).lines().filter(line -> line.startsWith("content-length:"))
      .map(line -> line.substring("content-length:".length()).trim()).findFirst()
      .orElseThrow(() -> new AssertionError("no content-length in:\n" + head));
    return new String(in.readNBytes(Integer.parseInt(length)), StandardCharsets.ISO_8859_1);
  }

  private static byte[] body(int size) {
    byte[] body = new byte[size];
    new Random(size).nextBytes(body);
    return body;
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
