package io.muxgate.forward;

import io.muxgate.support.Await;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.RawHttp;
import io.muxgate.support.TestScope;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A client may send its first WebSocket frames right behind the Upgrade request, in the same write and
 * before the 101 comes back (some clients and test tools do, and "the server speaks after the client's
 * first message" protocols depend on it). Those bytes reach the origin once the tunnel opens, after the
 * 101 has gone back to the client, in order and once.
 */
class PipelinedWebSocketBytesTest {

  private static final int LARGE = 100 * 1024;
  private static final int OPCODE_TEXT = 0x1;
  private static final int OPCODE_BINARY = 0x2;

  @RegisterExtension
  final TestScope scope = new TestScope();
  private ProxyHarness proxy;

  @BeforeEach
  void setUp() {
    // An origin that echoes every message as it came, text or binary, and takes frames the size of LARGE.
    HttpServer origin = Await.result(scope.vertx().createHttpServer(new HttpServerOptions().setHost("127.0.0.1")
        .setPort(0).setMaxWebSocketFrameSize(2 * LARGE).setMaxWebSocketMessageSize(2 * LARGE)
        .setPerMessageWebSocketCompressionSupported(false).setPerFrameWebSocketCompressionSupported(false))
      .webSocketHandler(ws -> {
        ws.textMessageHandler(ws::writeTextMessage);
        ws.binaryMessageHandler(ws::writeBinaryMessage);
      })
      .listen());
    HttpServer refusing = Await.result(scope.vertx().createHttpServer(new HttpServerOptions().setHost("127.0.0.1")
        .setPort(0))
      .requestHandler(req -> req.response().setStatusCode(404).end("no websocket here"))
      .listen());
    proxy = scope.startProxy(Map.of(
      "ws.json", ProxyHarness.zone("ws", "ws.test", List.of("http://127.0.0.1:" + origin.actualPort()), null),
      "refusing.json", ProxyHarness.zone("refusing", "refusing.test",
        List.of("http://127.0.0.1:" + refusing.actualPort()), null)));
  }

  @ParameterizedTest(name = "tls={0}")
  @ValueSource(booleans = {false, true})
  void aTextFrameSentWithTheUpgradeReachesTheOrigin(boolean tls) throws Exception {
    byte[] hello = "hello before the 101".getBytes(StandardCharsets.UTF_8);

    Frame echo = echoOfFrameSentWithTheUpgrade(tls, OPCODE_TEXT, hello);

    assertEquals(OPCODE_TEXT, echo.opcode());
    assertEquals("hello before the 101", new String(echo.payload(), StandardCharsets.UTF_8));
  }

  /**
   * More than the proxy reads at once: it holds what came with the request, reads no more until the tunnel
   * is open, and the rest follows through the tunnel after what it held.
   */
  @ParameterizedTest(name = "tls={0}")
  @ValueSource(booleans = {false, true})
  void aLargeBinaryFrameSentWithTheUpgradeReachesTheOriginWhole(boolean tls) throws Exception {
    byte[] payload = new byte[LARGE];
    ThreadLocalRandom.current().nextBytes(payload);

    Frame echo = echoOfFrameSentWithTheUpgrade(tls, OPCODE_BINARY, payload);

    assertEquals(OPCODE_BINARY, echo.opcode());
    assertEquals(LARGE, echo.payload().length);
    assertTrue(Arrays.equals(payload, echo.payload()), "the echo differs from what was sent");
  }

  /**
   * An origin that refuses the upgrade: its answer reaches the client, once, and the connection closes after
   * it. The bytes behind the request were frames, not a next request, and are not read as one.
   */
  @Test
  void aRefusedUpgradeIsAnsweredOnceAndTheConnectionCloses() throws IOException {
    String frame = new String(frame(OPCODE_TEXT, "hello".getBytes(StandardCharsets.UTF_8)), StandardCharsets.ISO_8859_1);

    String answer = RawHttp.exchange(proxy.httpPort(), upgradeRequest("refusing.test") + frame);

    assertTrue(answer.startsWith("HTTP/1.1 404"), answer);
    assertTrue(answer.toLowerCase(Locale.ROOT).contains("\r\nconnection: close\r\n"), answer);
    assertTrue(answer.endsWith("\r\n\r\nno websocket here"), "one answer, then the close: " + answer);
  }

  /**
   * Sends the Upgrade request and a frame of {@code payload} in one write to the proxy (HTTP/1.1, over TLS or
   * not); returns the frame that follows the 101.
   */
  private Frame echoOfFrameSentWithTheUpgrade(boolean tls, int opcode, byte[] payload) throws Exception {
    try (Socket socket = upgradeWith(tls, frame(opcode, payload))) {
      DataInputStream in = new DataInputStream(socket.getInputStream());
      String head = RawHttp.readHead(in).toLowerCase(Locale.ROOT);
      assertTrue(head.startsWith("http/1.1 101"), head);
      return readFrame(in);
    }
  }

  /** Connects to the proxy (HTTP/1.1, over TLS or not) and sends the Upgrade request and {@code frame} in one write. */
  private Socket upgradeWith(boolean tls, byte[] frame) throws Exception {
    Socket socket = new Socket("127.0.0.1", tls ? proxy.httpsPort() : proxy.httpPort());
    socket.setSoTimeout(10_000);
    if (tls) {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, InsecureTrustManagerFactory.INSTANCE.getTrustManagers(), null);
      SSLSocket secured = (SSLSocket) context.getSocketFactory().createSocket(socket, "127.0.0.1", socket.getPort(), true);
      secured.startHandshake(); // without ALPN: HTTP/1.1
      socket = secured;
    }
    byte[] head = upgradeRequest("ws.test").getBytes(StandardCharsets.US_ASCII);
    byte[] both = Arrays.copyOf(head, head.length + frame.length);
    System.arraycopy(frame, 0, both, head.length, frame.length);
    socket.getOutputStream().write(both);
    socket.getOutputStream().flush();
    return socket;
  }

  private static String upgradeRequest(String host) {
    return "GET /chat HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  }

  private record Frame(int opcode, byte[] payload) {
  }

  /** One unmasked frame, as an origin sends them; fails on a fragment (the echoes here are whole messages). */
  private static Frame readFrame(DataInputStream in) throws IOException {
    int first = in.readUnsignedByte();
    assertEquals(0x80, first & 0xf0, "FIN and no reserved bit");
    int second = in.readUnsignedByte();
    assertEquals(0, second & 0x80, "an origin's frame is not masked");
    long length = second & 0x7f;
    if (length == 126) {
      length = in.readUnsignedShort();
    } else if (length == 127) {
      length = in.readLong();
    }
    byte[] payload = new byte[Math.toIntExact(length)];
    in.readFully(payload);
    return new Frame(first & 0x0f, payload);
  }

  /** RFC 6455, section 5.2: FIN, the opcode, then the payload length in 7, 7+16 or 7+64 bits. */
  private static byte[] frameHeader(int opcode, int length) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(0x80 | opcode);
    if (length < 126) {
      out.write(length);
    } else if (length < 65536) {
      out.write(126);
      out.write(length >>> 8);
      out.write(length);
    } else {
      out.write(127);
      for (int shift = 56; shift >= 0; shift -= 8) {
        out.write((int) ((long) length >>> shift));
      }
    }
    return out.toByteArray();
  }

  /** A client's frame: masked, as RFC 6455, section 5.3 requires of every frame a client sends. */
  private static byte[] frame(int opcode, byte[] payload) {
    byte[] header = frameHeader(opcode, payload.length);
    header[1] |= (byte) 0x80;
    byte[] mask = new byte[4];
    ThreadLocalRandom.current().nextBytes(mask);
    byte[] frame = new byte[header.length + 4 + payload.length];
    System.arraycopy(header, 0, frame, 0, header.length);
    System.arraycopy(mask, 0, frame, header.length, 4);
    for (int i = 0; i < payload.length; i++) {
      frame[header.length + 4 + i] = (byte) (payload[i] ^ mask[i % 4]);
    }
    return frame;
  }
}
