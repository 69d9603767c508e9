package io.muxgate.forward;

import io.muxgate.origin.TrustAnyCertificate;
import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.FrameClient;
import io.muxgate.support.MuxgateProcess;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.RawFrameClient;
import io.muxgate.support.RawHttp;
import io.muxgate.support.SlowBody;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * An origin that answers an upload before reading it all (a 401, a 413, a redirect — everyday behaviour)
 * must not leave the unsent rest of that body to be confused with the next message. Over HTTP/1.1 the
 * origin would read the next request's bytes as the body's rest: two clients' requests spliced on one
 * connection. Each later request must reach the origin as itself, and every client gets its own answer.
 */
class EarlyResponseTest {

  private static final boolean FRONT_STREAMS = !"false".equalsIgnoreCase(System.getProperty("muxgate.front_streams"));

  private static final int BODY = 2 * 1024 * 1024;

  @RegisterExtension
  final TestScope scope = new TestScope();
  private final List<String> seen = new CopyOnWriteArrayList<>();

  @ParameterizedTest(name = "{0}")
  @EnumSource(value = ClientKind.class, names = {"HTTP1", "H2C"})
  void requestsAfterAnEarlyAnswerReachTheHttp11OriginAsThemselves(ClientKind kind) {
    HttpServer origin = Await.result(scope.vertx().createHttpServer(new HttpServerOptions().setHost("127.0.0.1"))
      .requestHandler(req -> {
        seen.add(req.method() + " " + req.uri());
        // Answers at once, then reads (and drops) whatever body comes, keeping the connection.
        req.response().end(req.uri());
      })
      .listen(0));
    ProxyHarness proxy = scope.startProxy("z", "http://127.0.0.1:" + origin.actualPort(), new JsonObject()
      .put("origin_max_http_version", "1").put("origin_max_connections", 1).put("proxy_read_timeout", 10));
    HttpClientAgent client = scope.client(kind, proxy);

    for (int i = 0; i < 3; i++) {
      Future<Exchange> upload = Exchange.send(client, HttpMethod.POST, "z.test", "/upload" + i,
        req -> req.putHeader("content-length", String.valueOf(BODY)), Buffer.buffer(new byte[BODY]));
      Future<Exchange> next = Exchange.get(scope.client(kind, proxy), "z.test", "/next" + i);

      assertEquals("/upload" + i, Await.result(upload).body());
      assertEquals("/next" + i, Await.result(next).body());
    }
    assertEquals(6, seen.size(), "requests the origin read: " + seen);
  }

  /**
   * An HTTP/1.1 client that asked for 100 (Continue) and got a final answer instead may send the body or
   * not (curl sends its next request): the connection closes after the answer, as nothing that follows
   * can be read safely.
   */
  @Test
  void anHttp11ClientRefusedBeforeContinueHasItsConnectionClosed() throws IOException {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C)
      .handler(req -> req.response().setStatusCode(417).end("no"));
    ProxyHarness proxy = scope.startProxy("z", origin.url(), null);
    try (Socket socket = new Socket("127.0.0.1", proxy.httpPort())) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(("POST /upload HTTP/1.1\r\nHost: z.test\r\nExpect: 100-continue\r\n"
        + "Content-Length: 200000\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);

      assertTrue(answer.startsWith("HTTP/1.1 417"), answer);
      assertTrue(answer.toLowerCase(Locale.ROOT).contains("\r\nconnection: close\r\n"), answer);
      assertTrue(answer.endsWith("\r\n\r\nno"), answer);
    }
  }

  /**
   * An origin that sent 100 (Continue) and then its final answer without reading the body (Node's HTTP/1.1
   * server sends the 100 by itself): the client, told to go on, sends the body it announced, which is read and
   * dropped, and the connection serves its next request, as HAProxy does. Closed after the answer instead,
   * the connection met the body the client had been invited to send with a reset (Jetty's HttpClient failed
   * the exchange: "Broken pipe").
   */
  @ParameterizedTest(name = "{0} origin")
  @EnumSource(value = TestOrigin.Mode.class, names = {"H1", "H2C"})
  void aBodySentAfterContinueAndAnsweredEarlyKeepsTheConnection(TestOrigin.Mode mode) throws IOException {
    int length = 1024 * 1024;
    TestOrigin origin = scope.startOrigin(mode).handler(req -> {
      if (req.path().equals("/upload")) {
        req.response().writeContinue();
      }
      String answer = req.path().equals("/upload") ? "early" : "next";
      req.response().putHeader("content-length", String.valueOf(answer.length())).end(answer);
    });
    ProxyHarness proxy = scope.startProxy("z", origin.url(), null);
    try (Socket socket = new Socket("127.0.0.1", proxy.httpPort())) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(("POST /upload HTTP/1.1\r\nHost: z.test\r\nExpect: 100-continue\r\n"
        + "Content-Length: " + length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      assertTrue(RawHttp.readHead(socket.getInputStream()).startsWith("HTTP/1.1 100"));
      socket.getOutputStream().write(new byte[length]);

      String head = RawHttp.readHead(socket.getInputStream());
      assertTrue(head.startsWith("HTTP/1.1 200"), head);
      assertFalse(head.toLowerCase(Locale.ROOT).contains("connection: close"), head);
      assertEquals("early", new String(socket.getInputStream().readNBytes(5), StandardCharsets.US_ASCII));
      socket.getOutputStream().write("GET /next HTTP/1.1\r\nHost: z.test\r\nConnection: close\r\n\r\n"
        .getBytes(StandardCharsets.US_ASCII));
      String next = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
      assertTrue(next.startsWith("HTTP/1.1 200") && next.endsWith("\r\n\r\nnext"), next);
    }
  }

  /**
   * Such an answer may stream for long (a download served whatever the upload): the connection closes after
   * it, not while its body is still coming, however long it takes.
   */
  @Test
  void anAnswerBeforeContinueStreamingPastTheLingerIsSentWhole() throws IOException {
    int pieces = 50;
    // 3 s of body: longer than a closing connection lingers for the client's unsent upload
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C)
      .handler(req -> SlowBody.send(scope.vertx(), req.response(), pieces, 60));
    ProxyHarness proxy = scope.startProxy("z", origin.url(), null);
    try (Socket socket = new Socket("127.0.0.1", proxy.httpPort())) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(("POST /download HTTP/1.1\r\nHost: z.test\r\nExpect: 100-continue\r\n"
        + "Content-Length: 200000\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);

      assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
      assertTrue(answer.toLowerCase(Locale.ROOT).contains("\r\nconnection: close\r\n"), answer);
      assertEquals(pieces, SlowBody.piecesIn(answer), answer);
      assertTrue(answer.endsWith("\r\n0\r\n\r\n"), "the chunked body's end: " + answer);
    }
  }

  /**
   * An HTTP/2 client still uploading when the whole response has gone out is told to stop with
   * RST_STREAM(NO_ERROR) (RFC 9113, section 8.1); curl otherwise waits on a spent window forever.
   */
  @ParameterizedTest(name = "TLS {0}")
  @ValueSource(booleans = {false, true})
  void anHttp2ClientStillUploadingIsToldToStopWithoutError(boolean tls) throws Exception {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(req -> req.response().end("early"));
    ProxyHarness proxy = scope.startProxy("z", origin.url(), null);
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    scope.track(() -> group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly());
    FrameClient client = FrameClient.connect(scope, group, tls ? proxy.httpsPort() : proxy.httpPort(), tls);

    Http2FrameStream stream = client.open(new DefaultHttp2Headers().method("POST").path("/upload")
      .scheme(tls ? "https" : "http").authority("z.test"), false);
    client.send(stream, new byte[16 * 1024], false);

    assertEquals("200", client.head().status().toString());
    assertEquals("early", client.body());
    assertEquals(Http2Error.NO_ERROR.code(), client.awaitReset());
  }

  /**
   * An HTTP/2 client that asked for 100 (Continue) and got a final answer instead may never send its body,
   * nor reset: its stream is reset with NO_ERROR after the answer, whether the origin (HTTP/1.1 or HTTP/2)
   * or the proxy (421, no zone for the host) gave it. Left open, the stream would hold one of the
   * connection's concurrent streams, and the connection, never idle, would never be closed.
   */
  @ParameterizedTest(name = "{0}, TLS {1}")
  @CsvSource({"H1,false", "H2C,false", "H1,true", "H2C,true", "PROXY,false"})
  void anHttp2ClientAnsweredBeforeContinueHasItsStreamReset(String answeredBy, boolean tls) throws Exception {
    TestOrigin origin = scope.startOrigin("PROXY".equals(answeredBy) ? TestOrigin.Mode.H2C
      : TestOrigin.Mode.valueOf(answeredBy)).handler(req -> req.response().setStatusCode(401).end("no"));
    ProxyHarness proxy = scope.startProxy("z", origin.url(), null);
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    scope.track(() -> group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly());
    FrameClient client = FrameClient.connect(scope, group, tls ? proxy.httpsPort() : proxy.httpPort(), tls);

    Http2FrameStream stream = client.open(new DefaultHttp2Headers().method("POST").path("/upload")
      .scheme(tls ? "https" : "http").authority("PROXY".equals(answeredBy) ? "other.test" : "z.test")
      .set("expect", "100-continue").setInt("content-length", 200_000), false);

    assertEquals("PROXY".equals(answeredBy) ? "421" : "401", client.head().status().toString());
    client.body();
    assertEquals(Http2Error.NO_ERROR.code(), client.awaitReset(), "frames of the stream: " + client.framesOf(stream));
  }

  /**
   * Once the response's END_STREAM is out, the body the client still sends is read and dropped, and its
   * bytes go back to the stream's window while it flows: the JDK's and Jetty's HttpClient only take a
   * response once their upload is sent, and fail one cut by RST_STREAM. (It used to stay shut until the
   * reset, sent at once: curl 7.88 stalls on a spent window, which the reset after silence still spares it.)
   * Once the client sends nothing for 2 s, the stream is reset with NO_ERROR and its connection serves on.
   *
   * <p>The proxy answers 413 in the middle of reading the DATA frame that crosses
   * {@code max_request_body_bytes}; the client then sends twice the stream's window more.
   */
  @Test
  void anUploadAnsweredEarlyHasItsBodyDrainedThenIsResetAfterSilence() throws Exception {
    assumeTrue(FRONT_STREAMS, "the front end's own HTTP/2 streams do this");
    int limit = 510_000;
    AtomicLong read = new AtomicLong();
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(req -> {
      if (req.method() == HttpMethod.GET) {
        req.response().end("next");
      } else {
        req.handler(chunk -> read.addAndGet(chunk.length()));
      }
    });
    ProxyHarness proxy = scope.startProxy("z", origin.url(), new JsonObject().put("max_request_body_bytes", limit));
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    scope.track(() -> group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly());
    FrameClient client = FrameClient.connect(scope, group, proxy.httpPort(), false);
    int window = client.settings().initialWindowSize();

    Http2FrameStream upload = client.open(new DefaultHttp2Headers().method("POST").path("/upload").scheme("http")
      .authority("z.test"), false);
    client.send(upload, new byte[limit], false);
    Await.until(() -> read.get() == limit, "the origin reads the body up to the limit");
    client.send(upload, new byte[16_000], false);
    assertEquals("413", client.head().status().toString());
    client.body();
    ChannelFuture rest = client.send(upload, new byte[2 * window], false);

    assertTrue(rest.await(10, TimeUnit.SECONDS) && rest.isSuccess(), "the body after the answer is let through: "
      + rest.cause() + ", frames of the upload: " + client.framesOf(upload));
    assertEquals(Http2Error.NO_ERROR.code(), client.awaitReset());
    List<String> frames = client.framesOf(upload);
    List<String> afterAnswer = frames.subList(frames.indexOf("DATA end"), frames.size());
    assertTrue(afterAnswer.contains("WINDOW_UPDATE"), "frames of the upload: " + frames);
    assertEquals("RST_STREAM 0", afterAnswer.get(afterAnswer.size() - 1), "frames of the upload: " + frames);

    client.open(new DefaultHttp2Headers().method("GET").path("/next").scheme("http").authority("z.test"), true);
    assertEquals("200", client.head().status().toString());
    assertEquals("next", client.body());
  }

  /**
   * A client that goes on sending the body of an upload answered early is not read forever: after the drain's
   * bound (30 s, 3 s here) it is told to stop with RST_STREAM(NO_ERROR), though it never fell silent; so is one
   * that sent {@code expect: 100-continue} and its body regardless.
   */
  @ParameterizedTest(name = "expect-continue {0}")
  @ValueSource(booleans = {false, true})
  void theDrainOfAnUploadAnsweredEarlyStopsAtItsBound(boolean expectContinue) throws Exception {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(req -> req.response().end("early"));
    MuxgateProcess muxgate = scope.track(MuxgateProcess.start(List.of("-Dmuxgate.early_answer_drain_s=3"),
      new JsonObject(), Map.of("z.json", ProxyHarness.zone("z", "z.test", List.of(origin.url()), null))));
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    scope.track(() -> group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly());
    FrameClient client = FrameClient.connect(scope, group, muxgate.httpPort(), false);

    DefaultHttp2Headers head = new DefaultHttp2Headers();
    head.method("POST").path("/upload").scheme("http").authority("z.test");
    if (expectContinue) {
      head.set("expect", "100-continue");
    }
    Http2FrameStream upload = client.open(head, false);
    assertEquals("200", client.head().status().toString());
    assertEquals("early", client.body());
    AtomicLong drained = new AtomicLong();
    ScheduledFuture<?> trickle = group.scheduleAtFixedRate(() -> client.send(upload, new byte[1024], false)
      .addListener(sent -> drained.addAndGet(sent.isSuccess() ? 1 : 0)), 0, 200, TimeUnit.MILLISECONDS);
    scope.track(() -> trickle.cancel(false));

    assertEquals(Http2Error.NO_ERROR.code(), client.awaitReset(), "frames of the upload: " + client.framesOf(upload));
    assertTrue(drained.get() > 10, "DATA frames sent before the reset, more than 2 s of them: " + drained);
  }

  /**
   * The JDK's HttpClient sends its whole body before it returns a response over HTTP/2: an upload the origin
   * answers at once gets that answer through the proxy, as through HAProxy, rather than an IOException.
   */
  @Test
  void theJdkHttpClientGetsAnEarlyAnswerToItsUpload() throws Exception {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(req -> req.response().end("early"));
    ProxyHarness proxy = scope.startProxy(Map.of("z.json",
      ProxyHarness.zone("z", "localhost", List.of(origin.url()), null)));
    SSLContext trustAll = SSLContext.getInstance("TLS");
    // the proxy's self-signed certificate, its name unchecked (an extended trust manager checks it itself)
    trustAll.init(null, TrustAnyCertificate.options().getTrustManagerFactory(scope.vertx()).getTrustManagers(), null);
    java.net.http.HttpClient jdk = java.net.http.HttpClient.newBuilder()
      .version(java.net.http.HttpClient.Version.HTTP_2).sslContext(trustAll).build();

    HttpResponse<String> response = jdk.sendAsync(HttpRequest.newBuilder(
          URI.create("https://localhost:" + proxy.httpsPort() + "/upload"))
        .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[8 * 1024 * 1024])).build(),
      HttpResponse.BodyHandlers.ofString()).get(30, TimeUnit.SECONDS);

    assertEquals(java.net.http.HttpClient.Version.HTTP_2, response.version());
    assertEquals(200, response.statusCode());
    assertEquals("early", response.body());
  }

  /**
   * A client uploading when its stream is reset has DATA in flight, up to the stream's window, and RFC 9113
   * (section 5.1) has the proxy ignore it. Refused one frame at a time, each with an RST_STREAM of its own,
   * it would spend the allowance of resets a client connection is given against floods: a few uploads
   * answered early, ordinary traffic, would lose the connection and every stream on it to a GOAWAY.
   */
  @Test
  void bodyFramesInFlightWhenTheUploadIsAnsweredCostNoConnection() throws Exception {
    assumeTrue(FRONT_STREAMS, "the front end's own HTTP/2 streams do this");
    int uploads = 10;
    int framesInFlight = 40;
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(req -> req.response().end("answer"));
    ProxyHarness proxy = scope.startProxy("z", origin.url(), null);
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    scope.track(() -> group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly());
    RawFrameClient client = RawFrameClient.connect(scope, group, proxy.httpPort());
    // Read on the event loop just before the frame after the reset, as a client's writes race its reads.
    client.onReset(id -> {
      for (int i = 0; i < framesInFlight; i++) {
        client.writeData(id, 1024, false);
      }
      client.flush();
    });

    for (int i = 0; i < uploads; i++) {
      int id = 1 + 2 * i;
      // In one write: the head reaches the origin at once, and its answer must not overtake the first DATA
      // on the client's side, which would then be sent after the reset, not in flight when it came.
      client.onLoop(() -> {
        client.writeHeaders(id, new DefaultHttp2Headers().method("POST").path("/upload").scheme("http")
          .authority("z.test").setInt("content-length", 1024 * 1024), false);
        client.writeData(id, 16 * 1024, false);
        client.flush();
      });
    }
    List<String> read = new ArrayList<>();
    int resets = 0;
    while (resets < uploads) {
      String frame = client.next();
      assertNotNull(frame, "frames read so far: " + read);
      read.add(frame);
      resets += frame.startsWith("RST_STREAM") ? 1 : 0;
    }
    int next = 1 + 2 * uploads;
    client.headers(next, new DefaultHttp2Headers().method("GET").path("/next").scheme("http").authority("z.test"), true);
    String frame;
    while ((frame = client.next()) != null && !frame.startsWith("DATA " + next)) {
      read.add(frame);
    }

    assertEquals("DATA " + next + " 6 end", frame, "the next request's answer; frames before it: " + read);
    assertTrue(read.stream().noneMatch(f -> f.startsWith("GOAWAY")), "frames read: " + read);
    assertTrue(read.stream().filter(f -> f.startsWith("RST_STREAM")).allMatch(f -> f.endsWith(" 0")),
      "only the resets that ask to stop without error: " + read);
  }
}
