package io.muxgate.frontend;

import io.muxgate.support.Await;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.RawHttp;
import io.muxgate.support.TcpTable;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.util.concurrent.EventExecutor;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A request that reached the proxy's socket before its listener closed, but that the proxy had not read
 * yet when the stop began: it is in flight as far as the client can tell, so it is served (HTTP/1.1 with
 * {@code connection: close}, HTTP/2 under a GOAWAY that covers it), never answered with a reset.
 *
 * <p>The proxy's event loops are held from just after the stop began until its listener is closed, so
 * that the request's bytes are still in the kernel when the front end learns of the stop, as they are
 * for a connection accepted in the listener's last moment.
 */
class RequestUnreadAtStopTest {

  private static final byte[] H2_PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

  @RegisterExtension
  final TestScope scope = new TestScope();
  private TestOrigin origin;
  private Vertx own;
  private ProxyHarness proxy;

  @BeforeEach
  void setUp() {
    origin = scope.startOrigin(TestOrigin.Mode.H2C);
    // A Vert.x of its own, whose event loops the test holds; drain_timeout_s that no test waits out.
    own = Vertx.vertx();
    scope.track(() -> own.close().await(10, TimeUnit.SECONDS));
    proxy = ProxyHarness.start(own, Map.of("z.json", zone("z", "z.test", List.of(origin.url()), null)),
      new JsonObject().put("drain_timeout_s", 60).put("event_loops", 1));
    scope.track(() -> ProxyHarness.deleteTree(proxy.confDir()));
  }

  @Test
  void anHttp11RequestUnreadWhenTheStopBeginsIsServedWithConnectionClose() throws Exception {
    try (Socket client = new Socket("127.0.0.1", proxy.httpPort())) {
      http11RequestServed(client, proxy.httpPort());
    }
  }

  @Test
  void anHttp11RequestUnreadAfterATlsHandshakeIsServedWithConnectionClose() throws Exception {
    try (Socket client = tls(proxy.httpsPort(), "http/1.1")) {
      http11RequestServed(client, proxy.httpsPort());
    }
  }

  @Test
  void anH2cRequestUnreadWhenTheStopBeginsIsServedUnderAGoAwayThatCoversIt() throws Exception {
    try (Socket client = new Socket("127.0.0.1", proxy.httpPort())) {
      h2RequestServed(client, proxy.httpPort());
    }
  }

  @Test
  void anH2RequestUnreadAfterATlsHandshakeIsServedUnderAGoAwayThatCoversIt() throws Exception {
    try (Socket client = tls(proxy.httpsPort(), "h2")) {
      h2RequestServed(client, proxy.httpsPort());
    }
  }

  @Test
  void anH2cUpgradeUnreadWhenTheStopBeginsIsServedUnderAGoAwayThatCoversIt() throws Exception {
    int port = proxy.httpPort();
    try (Socket client = new Socket("127.0.0.1", port)) {
      client.setSoTimeout(10_000);
      Future<Void> stopped = stopWithUnread(port, client, ("GET / HTTP/1.1\r\nhost: z.test\r\n"
        + "connection: Upgrade, HTTP2-Settings\r\nupgrade: h2c\r\nhttp2-settings: \r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII));

      String head = RawHttp.readHead(client.getInputStream());
      assertTrue(head.startsWith("HTTP/1.1 101 "), head);
      client.getOutputStream().write(H2_PREFACE);
      frame(client.getOutputStream(), 4, 0, 0, new byte[0]);   // SETTINGS
      servedUnderGoAway(client.getInputStream());
      Await.result(stopped, 15);
    }
  }

  private void http11RequestServed(Socket client, int port) throws Exception {
    client.setSoTimeout(10_000);
    Future<Void> stopped = stopWithUnread(port, client,
      "GET /unread HTTP/1.1\r\nhost: z.test\r\n\r\n".getBytes(StandardCharsets.US_ASCII));

    String response = new String(client.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
    assertTrue(response.startsWith("HTTP/1.1 200 "), response);
    assertTrue(response.toLowerCase().contains("\r\nconnection: close\r\n"), response);
    Await.result(stopped, 15);
    Await.until(() -> proxy.lastRecord("/unread") != null, 5_000, "the request's log line");
    assertEquals(200, proxy.lastRecord("/unread").status());
  }

  private void h2RequestServed(Socket client, int port) throws Exception {
    client.setSoTimeout(10_000);
    ByteArrayOutputStream request = new ByteArrayOutputStream();
    request.write(H2_PREFACE);
    frame(request, 4, 0, 0, new byte[0]);   // SETTINGS
    // HEADERS, END_STREAM | END_HEADERS: :method GET, :scheme http, :path /, :authority z.test
    frame(request, 1, 0x5, 1, new byte[] {(byte) 0x82, (byte) 0x86, (byte) 0x84, 0x41, 6, 'z', '.', 't', 'e', 's', 't'});
    Future<Void> stopped = stopWithUnread(port, client, request.toByteArray());
    servedUnderGoAway(client.getInputStream());
    Await.result(stopped, 15);
  }

  /** Reads HTTP/2 frames up to the proxy's close: stream 1 answered 200, under a GOAWAY that covers it. */
  private static void servedUnderGoAway(InputStream from) throws IOException {
    int status = 0;
    int goAwayLastStream = -1;
    DataInputStream in = new DataInputStream(from);
    try {
      while (true) {
        int length = in.readUnsignedShort() << 8 | in.readUnsignedByte();
        int type = in.readUnsignedByte();
        int flags = in.readUnsignedByte();
        int stream = in.readInt() & 0x7fffffff;
        byte[] payload = in.readNBytes(length);
        if (type == 1 && stream == 1) {
          // past a pad length (PADDED) and a priority (PRIORITY), as the upgrade's answer carries
          int block = ((flags & 0x8) != 0 ? 1 : 0) + ((flags & 0x20) != 0 ? 5 : 0);
          status = payload[block] == (byte) 0x88 ? 200 : -1;   // :status 200, static table index 8
        } else if (type == 7) {
          goAwayLastStream = ((payload[0] & 0x7f) << 24) | (payload[1] & 0xff) << 16 | (payload[2] & 0xff) << 8
            | (payload[3] & 0xff);
        }
      }
    } catch (EOFException closed) {
      // the proxy closed the connection once the stream was done
    }
    assertEquals(1, goAwayLastStream, "GOAWAY's last-stream-id covers the request");
    assertEquals(200, status);
  }

  /** A TLS connection to {@code port} whose handshake, ALPN offering only {@code protocol}, is over. */
  private static Socket tls(int port, String protocol) throws Exception {
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, InsecureTrustManagerFactory.INSTANCE.getTrustManagers(), null);
    SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", port);
    SSLParameters parameters = socket.getSSLParameters();
    parameters.setApplicationProtocols(new String[] {protocol});
    socket.setSSLParameters(parameters);
    socket.startHandshake();
    assertEquals(protocol, socket.getApplicationProtocol());
    return socket;
  }

  /**
   * Connects, lets the proxy set the connection up, then begins the stop, and holds the proxy's event
   * loops while {@code request} is written and until the listener is closed: the front end learns of the
   * stop with the request still unread.
   */
  private Future<Void> stopWithUnread(int port, Socket client, byte[] request) throws Exception {
    Await.until(() -> TcpTable.acceptedAndRead(port, client.getLocalPort()), "the connection accepted");
    runOnEveryLoop(() -> { });   // the accepted connection is registered with its event loop
    Future<Void> stopped = proxy.app().shutdown();
    CountDownLatch release = new CountDownLatch(1);
    runOnEveryLoop(() -> Await.until(() -> release.getCount() == 0, "the test to release the event loop"));
    try {
      OutputStream out = client.getOutputStream();
      out.write(request);
      out.flush();
      Await.until(() -> !TcpTable.listening(port), "the listener to close");
    } finally {
      release.countDown();
    }
    return stopped;
  }

  /** Starts {@code action} on each of the proxy's event loops and waits until each has begun it. */
  private void runOnEveryLoop(Runnable action) throws InterruptedException {
    EventLoopGroup loops = ((VertxInternal) own).nettyEventLoopGroup();
    List<EventExecutor> executors = new ArrayList<>();
    loops.forEach(executors::add);
    CountDownLatch started = new CountDownLatch(executors.size());
    for (EventExecutor loop : executors) {
      loop.execute(() -> {
        started.countDown();
        action.run();
      });
    }
    assertTrue(started.await(10, TimeUnit.SECONDS), "every event loop ran the task");
  }

  private static void frame(OutputStream out, int type, int flags, int stream, byte[] payload) throws IOException {
    out.write(new byte[] {(byte) (payload.length >> 16), (byte) (payload.length >> 8), (byte) payload.length,
      (byte) type, (byte) flags, (byte) (stream >> 24), (byte) (stream >> 16), (byte) (stream >> 8), (byte) stream});
    out.write(payload);
  }
}
