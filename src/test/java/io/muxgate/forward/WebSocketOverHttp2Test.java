package io.muxgate.forward;

import io.muxgate.support.Await;
import io.muxgate.support.FrameClient;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestScope;
import io.muxgate.testing.FaultOrigin;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2Headers;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static io.netty.handler.codec.http2.Http2CodecUtil.SETTINGS_ENABLE_CONNECT_PROTOCOL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * RFC 8441: an HTTP/2 client opens a WebSocket as a stream (extended CONNECT, {@code :protocol websocket}),
 * Muxgate carries it to the origin as an HTTP/1.1 Upgrade and relays the WebSocket's bytes between the
 * stream's DATA frames and the origin's connection. Clients only try it where the server's SETTINGS allow
 * it, which Muxgate's do when its own HTTP/2 streams run the front end.
 */
class WebSocketOverHttp2Test {

  private static final boolean FRONT_STREAMS = !"false".equalsIgnoreCase(System.getProperty("muxgate.front_streams"));

  @RegisterExtension
  final TestScope scope = new TestScope();
  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private ProxyHarness proxy;
  private final BlockingQueue<String> originEvents = new LinkedBlockingQueue<>();
  /** WebSocket bytes read from the stream and not yet taken as a message. */
  private final ByteArrayOutputStream received = new ByteArrayOutputStream();

  @BeforeEach
  void setUp() {
    scope.track(() -> group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly());
    HttpServer origin = Await.result(scope.vertx().createHttpServer(new HttpServerOptions().setHost("127.0.0.1")
        .setPort(0).setWebSocketSubProtocols(List.of("chat")))
      .webSocketHandler(ws -> {
        originEvents.add("open " + ws.path() + " via=" + ws.headers().get("via")
          + " xff=" + ws.headers().get("x-forwarded-for") + " host=" + ws.headers().get("host"));
        ws.textMessageHandler(text -> ws.writeTextMessage("echo " + text));
        ws.closeHandler(v -> originEvents.add("closed"));
      })
      .listen());
    HttpServer noWebSockets = Await.result(scope.vertx().createHttpServer(new HttpServerOptions().setHost("127.0.0.1")
        .setPort(0))
      .requestHandler(req -> req.response().setStatusCode(404).end("no websocket here"))
      .listen());
    // Answers any upgrade with a 101 whose Sec-WebSocket-Accept belongs to no key.
    NetServer wrongAccept = Await.result(scope.vertx().createNetServer()
      .connectHandler(socket -> socket.handler(bytes -> socket.write("HTTP/1.1 101 Switching Protocols\r\n"
        + "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")))
      .listen(0, "127.0.0.1"));
    NetServer silent = Await.result(scope.vertx().createNetServer().connectHandler(socket -> { })
      .listen(0, "127.0.0.1"));
    FaultOrigin http2Only = FaultOrigin.builder().start();
    scope.track(http2Only::close);
    proxy = scope.startProxy(Map.of(
      "h2only.json", ProxyHarness.zone("h2only", "h2only.test", List.of("h2c://" + http2Only.authority()), null),
      "silent.json", ProxyHarness.zone("silent", "silent.test", List.of("http://127.0.0.1:" + silent.actualPort()),
        new JsonObject().put("origin_max_http_version", "1").put("proxy_read_timeout", 1)),
      "ws.json", ProxyHarness.zone("ws", "ws.test", List.of("http://127.0.0.1:" + origin.actualPort()), null),
      "quick.json", ProxyHarness.zone("quick", "quick.test", List.of("http://127.0.0.1:" + origin.actualPort()),
        new JsonObject().put("proxy_read_timeout", 1)),
      "plain.json", ProxyHarness.zone("plain", "plain.test", List.of("http://127.0.0.1:" + noWebSockets.actualPort()),
        null),
      "bad.json", ProxyHarness.zone("bad", "bad.test", List.of("http://127.0.0.1:" + wrongAccept.actualPort()), null)));
  }

  @ParameterizedTest(name = "tls {0}")
  @ValueSource(booleans = {false, true})
  void aWebSocketOpensOnAnHttp2StreamAndCarriesFramesBothWays(boolean tls) throws Exception {
    assumeTrue(FRONT_STREAMS, "extended CONNECT is carried by the front end's own streams only");
    FrameClient client = connect(tls);
    assertEquals(1L, client.settings().get(SETTINGS_ENABLE_CONNECT_PROTOCOL));

    Http2FrameStream stream = connectWebSocket(client, "ws.test", "/chat?room=1", tls);
    Http2Headers head = client.head();

    assertEquals("200", head.status().toString());
    assertEquals("chat", String.valueOf(head.get("sec-websocket-protocol")));
    assertNull(head.get("sec-websocket-accept"), "a 101's handshake answer means nothing to an HTTP/2 client");
    assertNull(head.get("upgrade"));
    assertEquals("1.1 muxgate", String.valueOf(head.get("via")));
    assertEquals("open /chat via=2 muxgate xff=127.0.0.1 host=ws.test", originEvents.poll(10, TimeUnit.SECONDS));

    client.send(stream, textFrame("hi"), false);
    assertEquals("echo hi", textMessage(client));
    client.send(stream, textFrame("again"), false);
    assertEquals("echo again", textMessage(client));

    client.send(stream, new byte[0], true);
    assertEquals("closed", originEvents.poll(10, TimeUnit.SECONDS), "the client's end closes the origin's side");
    assertTrue(client.awaitEnd(), "the origin's close ends the stream");
  }

  @Test
  void aResetStreamClosesTheOriginsWebSocket() throws Exception {
    assumeTrue(FRONT_STREAMS, "extended CONNECT is carried by the front end's own streams only");
    FrameClient client = connect(false);
    Http2FrameStream stream = connectWebSocket(client, "ws.test", "/chat", false);
    assertEquals("200", client.head().status().toString());
    assertTrue(originEvents.poll(10, TimeUnit.SECONDS).startsWith("open"));

    client.reset(stream, Http2Error.CANCEL);

    assertEquals("closed", originEvents.poll(10, TimeUnit.SECONDS));
  }

  /** Quiet both ways for proxy_read_timeout: the origin's side is closed, which ends the stream. */
  @Test
  void aQuietWebSocketIsClosed() throws Exception {
    assumeTrue(FRONT_STREAMS, "extended CONNECT is carried by the front end's own streams only");
    FrameClient client = connect(false);
    connectWebSocket(client, "quick.test", "/chat", false);
    assertEquals("200", client.head().status().toString());
    assertTrue(originEvents.poll(10, TimeUnit.SECONDS).startsWith("open"));

    assertEquals("closed", originEvents.poll(10, TimeUnit.SECONDS), "the origin's side closed");
    assertTrue(client.awaitEnd(), "the stream ended");
  }

  @Test
  void anOriginThatDoesNotUpgradeAnswersAsItWould() throws Exception {
    assumeTrue(FRONT_STREAMS, "extended CONNECT is carried by the front end's own streams only");
    FrameClient client = connect(false);
    connectWebSocket(client, "plain.test", "/chat", false);
    Http2Headers head = client.head();

    assertEquals("404", head.status().toString());
    assertEquals("1.1 muxgate", String.valueOf(head.get("via")));
    assertEquals("no websocket here", client.body());
  }

  @Test
  void a101WithTheWrongAcceptIsAnInvalidResponse() throws Exception {
    assumeTrue(FRONT_STREAMS, "extended CONNECT is carried by the front end's own streams only");
    FrameClient client = connect(false);
    connectWebSocket(client, "bad.test", "/chat", false);
    Http2Headers head = client.head();

    assertEquals("520", head.status().toString());
    assertEquals("invalid_response", String.valueOf(head.get("muxgate-error")));
  }

  /** An {@code h2c://} origin that speaks only HTTP/2 takes no HTTP/1.1 Upgrade: 502, said so. */
  @Test
  void anOriginThatSpeaksOnlyHttp2Gets502() throws Exception {
    assumeTrue(FRONT_STREAMS, "extended CONNECT is carried by the front end's own streams only");
    FrameClient client = connect(false);
    connectWebSocket(client, "h2only.test", "/chat", false);
    Http2Headers head = client.head();

    assertEquals("502", head.status().toString());
    assertEquals("websocket_unsupported", String.valueOf(head.get("muxgate-error")));
  }

  @Test
  void anOriginThatNeverAnswersGets524() throws Exception {
    assumeTrue(FRONT_STREAMS, "extended CONNECT is carried by the front end's own streams only");
    FrameClient client = connect(false);
    connectWebSocket(client, "silent.test", "/chat", false);
    Http2Headers head = client.head();

    assertEquals("524", head.status().toString());
    assertEquals("read_timeout", String.valueOf(head.get("muxgate-error")));
  }

  @Test
  void anUnknownHostGets421() throws Exception {
    assumeTrue(FRONT_STREAMS, "extended CONNECT is carried by the front end's own streams only");
    FrameClient client = connect(false);
    connectWebSocket(client, "nowhere.test", "/chat", false);

    assertEquals("421", client.head().status().toString());
  }

  @Test
  void withoutTheFrontEndsOwnStreamsTheSettingIsNotOffered() throws Exception {
    assumeTrue(!FRONT_STREAMS, "runs in the execution where Vert.x's server carries every HTTP/2 stream");
    FrameClient client = connect(false);

    assertNull(client.settings().get(SETTINGS_ENABLE_CONNECT_PROTOCOL));
  }

  /** A masked (as a client must send it) text frame of a short message. */
  private static byte[] textFrame(String text) {
    byte[] payload = text.getBytes(StandardCharsets.UTF_8);
    byte[] mask = {1, 2, 3, 4};
    byte[] frame = new byte[6 + payload.length];
    frame[0] = (byte) 0x81;
    frame[1] = (byte) (0x80 | payload.length);
    System.arraycopy(mask, 0, frame, 2, 4);
    for (int i = 0; i < payload.length; i++) {
      frame[6 + i] = (byte) (payload[i] ^ mask[i % 4]);
    }
    return frame;
  }

  private FrameClient connect(boolean tls) throws Exception {
    return FrameClient.connect(scope, group, tls ? proxy.httpsPort() : proxy.httpPort(), tls);
  }

  private static Http2FrameStream connectWebSocket(FrameClient client, String authority, String path, boolean tls) {
    Http2Headers head = new DefaultHttp2Headers().method("CONNECT").scheme(tls ? "https" : "http")
      .authority(authority).path(path)
      .add("sec-websocket-version", "13")
      .add("sec-websocket-protocol", "chat");
    head.set(Http2Headers.PseudoHeaderName.PROTOCOL.value(), "websocket");
    return client.open(head, false);
  }

  /** The next unfragmented, unmasked text frame from the origin (short, as these tests send them). */
  private String textMessage(FrameClient client) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      byte[] bytes = received.toByteArray();
      if (bytes.length >= 2 && bytes.length >= 2 + (bytes[1] & 0x7f)) {
        assertEquals((byte) 0x81, bytes[0], "a final text frame");
        assertFalse((bytes[1] & 0x80) != 0, "the origin's frames are not masked");
        int length = bytes[1] & 0x7f;
        received.reset();
        received.write(bytes, 2 + length, bytes.length - 2 - length);
        return new String(bytes, 2, length, StandardCharsets.UTF_8);
      }
      received.writeBytes(client.data(deadline));
    }
  }
}
