package io.muxgate.frontend;

import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.GeneratedBody;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.RawFrameClient;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.HostAndPort;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A client connection with no request in flight for {@code client_idle_timeout_s} is closed, however it
 * keeps its socket: silent, trickling a request head, or an HTTP/2 connection that opens no stream
 * (slowloris; each would otherwise hold a descriptor forever). A request in flight is never cut by it,
 * however long its origin takes to answer.
 */
class ClientIdleTimeoutTest {

  private static final int IDLE_TIMEOUT_S = 1;

  @RegisterExtension
  final TestScope scope = new TestScope();
  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private TestOrigin origin;
  private ProxyHarness proxy;

  @BeforeEach
  void setUp() {
    scope.track(() -> group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly());
    origin = scope.startOrigin(TestOrigin.Mode.H2C);
    proxy = scope.startProxy(Map.of("z.json", ProxyHarness.zone("z", "z.test", List.of(origin.url()), null),
        "quick.json", ProxyHarness.zone("quick", "quick.test", List.of(origin.url()),
          new JsonObject().put("proxy_read_timeout", 1))),
      new JsonObject().put("client_idle_timeout_s", IDLE_TIMEOUT_S));
  }

  @Test
  void aSilentConnectionIsClosed() throws IOException {
    try (Socket socket = new Socket("127.0.0.1", proxy.httpPort())) {
      assertClosedByProxy(socket);
    }
  }

  @Test
  void aRequestHeadTrickledByteByByteIsCut() throws Exception {
    byte[] head = ("GET / HTTP/1.1\r\nHost: z.test\r\nX-Padding: " + "a".repeat(150)).getBytes(StandardCharsets.US_ASCII);
    // Before the connect, where the proxy's idle clock starts: a busy machine can only lengthen what is measured.
    long start = System.nanoTime();
    try (Socket socket = new Socket("127.0.0.1", proxy.httpPort())) {
      OutputStream out = socket.getOutputStream();
      try {
        // the pace of a slowloris: each byte well within any timeout on bytes alone; the whole head takes
        // about 19 s, the only upper bound on the cut
        for (byte b : head) {
          out.write(b);
          out.flush();
          Thread.sleep(100);
        }
        fail("a request head trickled over " + (System.nanoTime() - start) / 1_000_000 + " ms was still read");
      } catch (IOException cut) {
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertTrue(ms >= IDLE_TIMEOUT_S * 1000, "cut after " + ms + " ms, before the idle timeout");
      }
    }
    assertEquals(0, origin.requests());
  }

  @Test
  void anHttp2ConnectionThatOpensNoStreamGetsGoawayAndIsClosed() throws Exception {
    RawFrameClient client = RawFrameClient.connect(scope, group, proxy.httpPort());

    assertEquals("GOAWAY 0 ", client.next(), "GOAWAY(NO_ERROR)");
    assertTrue(client.closeFuture().await(10, TimeUnit.SECONDS), "closed after the GOAWAY");
  }

  /** An h2c Upgrade starts as HTTP/1.1 and goes on as HTTP/2: idle after its streams, it is closed too. */
  @Test
  void anUpgradedH2cConnectionIsClosedOnceIdle() {
    origin.handler(req -> req.response().end("done"));
    Promise<Void> closed = Promise.promise();
    HttpClientAgent client = scope.vertx().httpClientBuilder()
      .with(new HttpClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(proxy.httpPort())
        .setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(true))
      .withConnectHandler(connection -> connection.closeHandler(v -> closed.tryComplete()))
      .build();

    Exchange answer = Await.result(Exchange.get(client, "z.test", "/"));

    assertEquals("done", answer.body());
    Await.result(closed.future());
  }

  @Test
  void anHttp11KeepAliveConnectionIsClosedOnceIdle() throws IOException {
    origin.handler(req -> req.response().end("done"));
    try (Socket socket = new Socket("127.0.0.1", proxy.httpPort())) {
      socket.getOutputStream().write("GET / HTTP/1.1\r\nHost: z.test\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      socket.setSoTimeout(10_000);
      String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);

      assertTrue(answer.startsWith("HTTP/1.1 200") && answer.endsWith("\r\n\r\ndone"), answer);
    } catch (SocketTimeoutException e) {
      fail("a keep-alive connection was still open 10 s after its response");
    }
  }

  @Test
  void anHttp2ConnectionIsClosedOnceItsLastStreamIsOver() throws Exception {
    origin.handler(req -> req.response().end("done"));
    RawFrameClient client = RawFrameClient.connect(scope, group, proxy.httpPort());
    client.headers(1, new DefaultHttp2Headers().method("GET").scheme("http").path("/").authority("z.test"), true);

    assertEquals("HEADERS 1 200", client.next());
    String frame = client.next();
    if (frame != null && !frame.endsWith(" end")) {
      assertEquals("DATA 1 4", frame);
      frame = client.next(); // Vert.x's server stream ends the body with a DATA frame of its own
      assertEquals("DATA 1 0 end", frame);
    } else {
      assertEquals("DATA 1 4 end", frame);
    }
    assertEquals("GOAWAY 0 ", client.next(), "GOAWAY(NO_ERROR)");
    assertTrue(client.closeFuture().await(10, TimeUnit.SECONDS), "closed after the GOAWAY");
  }

  /** Longer than the idle timeout without a byte either way, waiting on the origin: a long poll. */
  @ParameterizedTest(name = "{0}")
  @EnumSource(value = ClientKind.class, names = {"HTTP1", "H2C"})
  void aRequestWaitingOnItsOriginIsNotCut(ClientKind kind) throws IOException {
    origin.park();
    Future<Exchange> longPoll = Exchange.get(scope.client(kind, proxy), "z.test", "/poll");
    origin.awaitInFlight(1);
    // Two silent connections opened one after the other are closed by the timeout in turn: by then the
    // long poll's connection has been without a byte for more than the timeout.
    for (int i = 0; i < 2; i++) {
      try (Socket clock = new Socket("127.0.0.1", proxy.httpPort())) {
        assertClosedByProxy(clock);
      }
    }
    origin.release();

    assertEquals(200, Await.result(longPoll).status());
  }

  /** Over HTTP/2 only the stream is cut; it is logged as the client's stall too. */
  @Test
  void anHttp2ClientThatStopsReadingIsLoggedAsStalled() {
    origin.handler(req -> GeneratedBody.write(req.response().setChunked(true), 64L << 20, 7)
      .onSuccess(d -> req.response().end()));
    scope.client(ClientKind.H2C, proxy).request(HttpMethod.GET, "/big")
      .compose(req -> req.authority(HostAndPort.create("quick.test", -1)).send())
      .onSuccess(response -> response.exceptionHandler(cut -> { }).pause()); // the cut is expected

    Await.until(() -> proxy.lastRecord("/big") != null, "the proxy to give up on the download");
    assertEquals("client_stalled", proxy.lastRecord("/big").error());
  }

  private static void assertClosedByProxy(Socket socket) throws IOException {
    socket.setSoTimeout(10_000);
    try {
      assertEquals(-1, socket.getInputStream().read(), "the proxy sent bytes to a connection that asked nothing");
    } catch (SocketTimeoutException e) {
      fail("an idle connection was still open after 10 s");
    }
  }
}
