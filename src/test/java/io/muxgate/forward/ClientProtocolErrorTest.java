package io.muxgate.forward;

import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.MuxgateProcess;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersEncoder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.vertx.core.Promise;
import io.vertx.core.json.JsonObject;
import io.vertx.core.http.StreamResetException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A client that breaks the HTTP/2 framing rules loses its connection, after a GOAWAY, and only that: the
 * origin streams it had open are cancelled, and the proxy goes on serving everyone else. The client speaks raw frames
 * over a plain socket, so it can send what no client library would — also what is legal but rare, such as
 * request trailers.
 */
class ClientProtocolErrorTest {


  private static final int DATA = 0x0;
  private static final int HEADERS = 0x1;
  private static final int SETTINGS = 0x4;
  private static final int WINDOW_UPDATE = 0x8;
  private static final int RST_STREAM = 0x3;
  private static final int GOAWAY = 0x7;
  private static final long PROTOCOL_ERROR = 0x1;
  private static final long FRAME_SIZE_ERROR = 0x6;
  private static final long COMPRESSION_ERROR = 0x9;
  private static final long ENHANCE_YOUR_CALM = 0xb;
  private static final int END_STREAM = 0x1;
  private static final int END_HEADERS = 0x4;
  private static final int END_STREAM_AND_HEADERS = END_STREAM | END_HEADERS;
  private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

  @RegisterExtension
  final TestScope scope = new TestScope();

  @Test
  void aConnectionErrorClosesThatConnectionAndCancelsItsOriginStreams() throws Exception {
    Promise<Void> received = Promise.promise();
    Promise<String> originOutcome = Promise.promise();
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(request -> {
      if (request.path().equals("/hello")) {
        request.response().end("hello");
        return;
      }
      request.exceptionHandler(e -> originOutcome.tryComplete("aborted: " + e));
      request.response().exceptionHandler(e -> originOutcome.tryComplete("aborted: " + e));
      request.response().closeHandler(v -> originOutcome.tryComplete("aborted: connection closed"));
      received.tryComplete();
    });
    ProxyHarness proxy = scope.startProxy("site", origin.url(), null);

    try (Socket socket = openH2c(proxy)) {
      OutputStream out = socket.getOutputStream();
      Http2Headers head = new DefaultHttp2Headers().method("GET").scheme("http").path("/parked").authority("site.test");
      frame(out, HEADERS, END_STREAM_AND_HEADERS, 1, hpack(head));
      Await.result(received.future());

      // A WINDOW_UPDATE of 0 on the connection is a connection error (RFC 9113, section 6.9).
      frame(out, WINDOW_UPDATE, 0, 0, new byte[4]);

      byte[] answer = readUntilClosed(socket.getInputStream());
      assertEquals(PROTOCOL_ERROR, goAwayError(answer), "GOAWAY's error code before the close");
    }
    String outcome = Await.result(originOutcome.future());
    assertTrue(outcome.startsWith("aborted") && outcome.contains(StreamResetException.class.getSimpleName()),
      "the origin stream of the broken connection is reset, saw: " + outcome);

    Exchange next = Await.result(Exchange.get(scope.client(ClientKind.H2C, proxy), "site.test", "/hello"));
    assertEquals(200, next.status(), next.body());
    assertEquals("hello", next.body());
  }

  /**
   * Floods that Netty's codec counts end the connection with ENHANCE_YOUR_CALM (RFC 9113, section 10.5), as
   * they do with no stream of Muxgate's open: before, Vert.x 5.0.10 threw on Muxgate's open stream while
   * handling the error, the codec's GOAWAY never went out, and the close said PROTOCOL_ERROR. Here three
   * empty DATA frames on an upload in flight (Vert.x lets two in a row by).
   */
  @Test
  void aFloodOfEmptyDataFramesIsCalledSo() throws Exception {
    ProxyHarness proxy = proxyToParkedOrigin();
    ByteArrayOutputStream flood = new ByteArrayOutputStream();
    Http2Headers head = new DefaultHttp2Headers().method("POST").scheme("http").path("/parked").authority("site.test");
    frame(flood, HEADERS, END_HEADERS, 1, hpack(head));
    for (int i = 0; i < 3; i++) {
      frame(flood, DATA, 0, 1, new byte[0]);
    }
    try (Socket socket = openH2c(proxy)) {
      sendAll(socket, flood.toByteArray());

      assertEquals(ENHANCE_YOUR_CALM, goAwayError(readUntilClosed(socket.getInputStream())));
    }
  }

  /** The same for Rapid Reset (CVE-2023-44487): streams opened and reset at once, past Vert.x's 200 per 30 s. */
  @Test
  void aFloodOfResetsIsCalledSo() throws Exception {
    byte[] cancel = {0, 0, 0, 8};

    assertEquals(ENHANCE_YOUR_CALM, goAwayAfterStreamsEachFollowedBy(RST_STREAM, cancel));
  }

  /**
   * And for a flood of resets the client provokes from the codec (MadeYouReset, CVE-2025-8671): DATA after
   * each request's END_STREAM, a stream error the codec answers with RST_STREAM, past its 200 per 30 s.
   */
  @Test
  void aFloodOfProvokedResetsIsCalledSo() throws Exception {
    assertEquals(ENHANCE_YOUR_CALM, goAwayAfterStreamsEachFollowedBy(DATA, new byte[1]));
  }

  /**
   * A frame the codec's frame reader refuses itself ends the connection with that error's own code too,
   * with a stream of Muxgate's open beside it (before, Vert.x threw on that stream and the close said
   * PROTOCOL_ERROR, which h2spec-style checks fail): here a DATA frame one byte over the 16,384 that
   * SETTINGS_MAX_FRAME_SIZE allows (RFC 9113, section 4.2).
   */
  @Test
  void aFrameOverTheMaximumSizeIsAFrameSizeErrorBesideAnOpenStream() throws Exception {
    assertEquals(FRAME_SIZE_ERROR, goAwayAfterAnOpenUploadAnd(DATA, 0, 1, new byte[16_385]));
  }

  /** And a header block HPACK cannot decode (an index past both tables) is COMPRESSION_ERROR (section 4.3). */
  @Test
  void anUndecodableHeaderBlockIsACompressionErrorBesideAnOpenStream() throws Exception {
    byte[] indexPastBothTables = {(byte) 0xff, (byte) 0xff, (byte) 0xff, 0x7f};

    assertEquals(COMPRESSION_ERROR, goAwayAfterAnOpenUploadAnd(HEADERS, END_STREAM_AND_HEADERS, 3, indexPastBothTables));
  }

  /**
   * The same malformed frames in a client's first write, behind the preface, its SETTINGS and a HEADERS
   * that opens a stream, before the proxy's SETTINGS can have arrived: the front end takes the connection
   * over while the codec reads that SETTINGS, and the frames behind it in the same read used to end in a
   * bare close, with no GOAWAY at all.
   */
  @ParameterizedTest(name = "tls={0}")
  @ValueSource(booleans = {false, true})
  void aMalformedFrameInTheFirstBurstGetsGoawayWithItsOwnCode(boolean tls) throws Exception {
    ProxyHarness proxy = proxyToParkedOrigin();
    byte[] indexPastBothTables = {(byte) 0xff, (byte) 0xff, (byte) 0xff, 0x7f};

    assertEquals(FRAME_SIZE_ERROR, goAwayAfterFirstBurstWith(proxy, tls, DATA, 0, 1, new byte[16_385]));
    assertEquals(PROTOCOL_ERROR, goAwayAfterFirstBurstWith(proxy, tls, DATA, 0, 0, new byte[3]));
    assertEquals(COMPRESSION_ERROR,
      goAwayAfterFirstBurstWith(proxy, tls, HEADERS, END_STREAM_AND_HEADERS, 3, indexPastBothTables));
  }

  /**
   * After an error's GOAWAY the connection ends with a FIN, not a reset, though the client's upload runs on
   * behind the malformed frame: the proxy reads on (and drops) what still comes, as nginx and HAProxy do. The
   * kernel resets a socket closed over unread bytes, and a client that had not read the GOAWAY yet lost it.
   * On the process's own (epoll) transport, where the proxy stops reading at the close.
   */
  @Test
  void theCloseAfterAnErrorsGoawayIsAFinThoughTheClientSendsOn() throws Exception {
    MuxgateProcess muxgate = scope.track(MuxgateProcess.start(new JsonObject(),
      Map.of("site.json", ProxyHarness.zone("site", "site.test", List.of("h2c://127.0.0.1:1"), null))));
    ByteArrayOutputStream burst = new ByteArrayOutputStream();
    burst.write(PREFACE);
    frame(burst, SETTINGS, 0, 0, new byte[0]);
    frame(burst, DATA, 0, 0, new byte[3]);
    // 320 KB: more than the proxy reads at once, less than loopback takes before the client's write returns
    for (int i = 0; i < 20; i++) {
      frame(burst, DATA, 0, 1, new byte[16_384]);
    }
    try (Socket socket = new Socket("127.0.0.1", muxgate.httpPort())) {
      socket.setSoTimeout(5_000);
      sendAll(socket, burst.toByteArray());

      assertEquals(PROTOCOL_ERROR, goAwayError(readUntilClosed(socket.getInputStream(), false)));
    }
  }

  /**
   * Sends the preface, an empty SETTINGS, the HEADERS of a POST of /parked on stream 1 and a frame of
   * {@code type} in one write, over h2c or h2 over TLS, and reads to the close; returns the GOAWAY's error code.
   */
  private static long goAwayAfterFirstBurstWith(ProxyHarness proxy, boolean tls, int type, int flags, int streamId,
                                                byte[] payload) throws Exception {
    ByteArrayOutputStream burst = new ByteArrayOutputStream();
    burst.write(PREFACE);
    frame(burst, SETTINGS, 0, 0, new byte[0]);
    Http2Headers head = new DefaultHttp2Headers().method("POST").scheme(tls ? "https" : "http").path("/parked")
      .authority("site.test");
    frame(burst, HEADERS, END_HEADERS, 1, hpack(head));
    frame(burst, type, flags, streamId, payload);
    try (Socket socket = tls ? h2OverTls(proxy) : new Socket("127.0.0.1", proxy.httpPort())) {
      socket.setSoTimeout(5_000);
      sendAll(socket, burst.toByteArray());
      return goAwayError(readUntilClosed(socket.getInputStream()));
    }
  }

  /** A TLS socket to the proxy's https port that has agreed on h2 by ALPN and sent nothing yet. */
  private static Socket h2OverTls(ProxyHarness proxy) throws Exception {
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, InsecureTrustManagerFactory.INSTANCE.getTrustManagers(), null);
    SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", proxy.httpsPort());
    SSLParameters parameters = socket.getSSLParameters();
    parameters.setApplicationProtocols(new String[] {"h2"});
    socket.setSSLParameters(parameters);
    socket.startHandshake();
    assertEquals("h2", socket.getApplicationProtocol());
    return socket;
  }

  /**
   * Opens stream 1, a POST of /parked whose body is still to come, waits until it reached the origin,
   * sends a frame of {@code type} and reads to the close; returns the GOAWAY's error code.
   */
  private long goAwayAfterAnOpenUploadAnd(int type, int flags, int streamId, byte[] payload) throws Exception {
    Promise<Void> received = Promise.promise();
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(request -> {
      request.exceptionHandler(expected -> { });
      request.response().exceptionHandler(expected -> { });
      received.tryComplete();
    });
    ProxyHarness proxy = scope.startProxy("site", origin.url(), null);
    try (Socket socket = openH2c(proxy)) {
      Http2Headers head = new DefaultHttp2Headers().method("POST").scheme("http").path("/parked").authority("site.test");
      frame(socket.getOutputStream(), HEADERS, END_HEADERS, 1, hpack(head));
      Await.result(received.future());

      ByteArrayOutputStream bad = new ByteArrayOutputStream();
      frame(bad, type, flags, streamId, payload);
      sendAll(socket, bad.toByteArray());
      return goAwayError(readUntilClosed(socket.getInputStream()));
    }
  }

  /**
   * Opens 300 streams, each a GET of /parked followed at once by a frame of {@code type} with {@code payload},
   * and reads to the close; returns the GOAWAY's error code.
   */
  private long goAwayAfterStreamsEachFollowedBy(int type, byte[] payload) throws Exception {
    ProxyHarness proxy = proxyToParkedOrigin();
    ByteArrayOutputStream flood = new ByteArrayOutputStream();
    DefaultHttp2HeadersEncoder encoder = new DefaultHttp2HeadersEncoder();
    Http2Headers head = new DefaultHttp2Headers().method("GET").scheme("http").path("/parked").authority("site.test");
    for (int id = 1; id <= 2 * 300; id += 2) {
      frame(flood, HEADERS, END_STREAM_AND_HEADERS, id, hpack(encoder, head));
      frame(flood, type, 0, id, payload);
    }
    try (Socket socket = openH2c(proxy)) {
      sendAll(socket, flood.toByteArray());
      return goAwayError(readUntilClosed(socket.getInputStream()));
    }
  }

  /**
   * Writes {@code bytes} in one go (about 10 KB: the socket takes them whole), so that the proxy, which
   * closes the connection part way through them, does not fail a later write with a broken pipe.
   */
  private static void sendAll(Socket socket, byte[] bytes) throws IOException {
    try {
      socket.getOutputStream().write(bytes);
    } catch (SocketException closedMeanwhile) {
      // the GOAWAY before the close is what the test reads
    }
  }

  /** A proxy whose zone's origin never answers /parked. */
  private ProxyHarness proxyToParkedOrigin() {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(request -> {
      request.exceptionHandler(expected -> { });
      request.response().exceptionHandler(expected -> { });
    });
    return scope.startProxy("site", origin.url(), null);
  }

  /**
   * Request trailers (a second HEADERS frame with END_STREAM) end the request, as Vert.x's server ends it:
   * the origin gets the whole body and answers. Only a raw-frame client can send them.
   */
  @Test
  void requestTrailersEndTheRequest() throws Exception {
    Promise<String> originGot = Promise.promise();
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(request -> request.body().onComplete(ar -> {
      originGot.tryComplete(ar.succeeded() ? ar.result().toString() : "failed: " + ar.cause());
      request.response().end("got " + (ar.succeeded() ? ar.result().length() : -1));
    }));
    ProxyHarness proxy = scope.startProxy("site", origin.url(), null);

    try (Socket socket = openH2c(proxy)) {
      OutputStream out = socket.getOutputStream();
      DefaultHttp2HeadersEncoder encoder = new DefaultHttp2HeadersEncoder();
      Http2Headers head = new DefaultHttp2Headers().method("POST").scheme("http").path("/upload").authority("site.test");
      frame(out, HEADERS, END_HEADERS, 1, hpack(encoder, head));
      frame(out, DATA, 0, 1, "hello".getBytes(StandardCharsets.US_ASCII));
      frame(out, HEADERS, END_STREAM_AND_HEADERS, 1, hpack(encoder, new DefaultHttp2Headers().add("x-checksum", "5")));

      assertEquals("got 5", responseBody(socket.getInputStream(), 1));
    }
    assertEquals("hello", Await.result(originGot.future()));
  }

  /** A socket to the proxy's cleartext port that has sent the HTTP/2 preface and an empty SETTINGS frame. */
  private static Socket openH2c(ProxyHarness proxy) throws IOException {
    Socket socket = new Socket("127.0.0.1", proxy.httpPort());
    socket.setSoTimeout(5_000);
    OutputStream out = socket.getOutputStream();
    out.write(PREFACE);
    frame(out, SETTINGS, 0, 0, new byte[0]);
    return socket;
  }

  private static byte[] hpack(Http2Headers headers) throws Exception {
    return hpack(new DefaultHttp2HeadersEncoder(), headers);
  }

  private static byte[] hpack(DefaultHttp2HeadersEncoder encoder, Http2Headers headers) throws Exception {
    ByteBuf block = Unpooled.buffer();
    encoder.encodeHeaders(1, headers, block);
    return ByteBufUtil.getBytes(block);
  }

  /** The DATA of stream {@code streamId} up to its END_STREAM, reading frames off {@code in}. */
  private static String responseBody(InputStream in, int streamId) throws IOException {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    byte[] header = new byte[9];
    while (true) {
      readFully(in, header);
      int length = (header[0] & 0xff) << 16 | (header[1] & 0xff) << 8 | header[2] & 0xff;
      int id = (header[5] & 0x7f) << 24 | (header[6] & 0xff) << 16 | (header[7] & 0xff) << 8 | header[8] & 0xff;
      byte[] payload = new byte[length];
      readFully(in, payload);
      if (header[3] == GOAWAY) {
        fail("GOAWAY before the response ended, error " + goAwayError(ByteBufUtil.getBytes(
          Unpooled.wrappedBuffer(header, payload))));
      }
      if (id == streamId && header[3] == DATA) {
        body.write(payload);
      }
      if (id == streamId && (header[3] == DATA || header[3] == HEADERS) && (header[4] & END_STREAM) != 0) {
        return body.toString(StandardCharsets.UTF_8);
      }
    }
  }

  private static void readFully(InputStream in, byte[] into) throws IOException {
    for (int read = 0; read < into.length; ) {
      int n = in.read(into, read, into.length - read);
      if (n < 0) {
        fail("the proxy closed the connection before the response ended");
      }
      read += n;
    }
  }

  private static void frame(OutputStream out, int type, int flags, int streamId, byte[] payload) throws IOException {
    out.write(new byte[] {
      (byte) (payload.length >>> 16), (byte) (payload.length >>> 8), (byte) payload.length,
      (byte) type, (byte) flags,
      (byte) (streamId >>> 24), (byte) (streamId >>> 16), (byte) (streamId >>> 8), (byte) streamId});
    out.write(payload);
    out.flush();
  }

  /** Reads until the proxy closes the connection; fails if it is still open after the socket's timeout. */
  private static byte[] readUntilClosed(InputStream in) throws IOException {
    return readUntilClosed(in, true);
  }

  /** {@link #readUntilClosed(InputStream)}, failing on a TCP reset unless {@code resetToo}. */
  private static byte[] readUntilClosed(InputStream in, boolean resetToo) throws IOException {
    ByteArrayOutputStream seen = new ByteArrayOutputStream();
    byte[] buffer = new byte[8192];
    try {
      for (int n; (n = in.read(buffer)) >= 0; ) {
        seen.write(buffer, 0, n);
      }
    } catch (SocketTimeoutException e) {
      fail("the proxy kept the connection open after a connection error; read " + seen.size() + " bytes");
    } catch (SocketException reset) {
      // closed with a TCP reset: closed all the same
      assertTrue(resetToo, "the proxy reset the connection after " + seen.size() + " bytes: " + reset);
    }
    return seen.toByteArray();
  }

  /** The error code of the first GOAWAY frame among {@code frames}, or -1 if there is none. */
  private static long goAwayError(byte[] frames) {
    for (int i = 0; i + 9 <= frames.length; ) {
      int length = (frames[i] & 0xff) << 16 | (frames[i + 1] & 0xff) << 8 | frames[i + 2] & 0xff;
      if (frames[i + 3] == GOAWAY && i + 17 <= frames.length) {
        return (frames[i + 13] & 0xffL) << 24 | (frames[i + 14] & 0xff) << 16 | (frames[i + 15] & 0xff) << 8
          | frames[i + 16] & 0xff;
      }
      i += 9 + length;
    }
    return -1;
  }
}
