package io.muxgate.forward;

import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestScope;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.HostAndPort;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Toward an HTTP/1.1 origin the request's Host is its first header line, as RFC 9110 (section 7.2) asks of
 * a user agent and as nginx and HAProxy send it (Vert.x's client alone would write it last), with the value
 * sent before: the client's authority. Whatever the client spoke, for a bodiless GET and for an upload
 * of unknown length, which still goes chunked.
 */
class HostFirstTowardHttp1OriginTest {

  @RegisterExtension
  final TestScope scope = new TestScope();
  private ProxyHarness proxy;
  /** Each request's head (request line and header lines) and body, as the origin read them. */
  private final List<String[]> received = new CopyOnWriteArrayList<>();

  @BeforeEach
  void setUp() {
    NetServer origin = Await.result(scope.vertx().createNetServer()
      .connectHandler(this::serve)
      .listen(0, "127.0.0.1"));
    proxy = scope.startProxy("z", "http://127.0.0.1:" + origin.actualPort(),
      new JsonObject().put("origin_max_http_version", "1"));
  }

  /**
   * Reads requests off the socket as bytes, answering each once its body (a length, or chunked) is in. The
   * proxy sends the next request on a connection only after the answer, so what is read is one request.
   */
  private void serve(NetSocket socket) {
    StringBuilder pending = new StringBuilder();
    socket.handler(bytes -> {
      pending.append(bytes.toString(StandardCharsets.ISO_8859_1));
      int headEnd = pending.indexOf("\r\n\r\n");
      if (headEnd < 0) {
        return;
      }
      String head = pending.substring(0, headEnd);
      String body = pending.substring(headEnd + 4);
      String lower = head.toLowerCase(Locale.ROOT);
      boolean chunked = lower.contains("\r\ntransfer-encoding: chunked");
      if (chunked ? !body.endsWith("0\r\n\r\n") : body.length() < contentLength(lower)) {
        return;
      }
      pending.setLength(0);
      received.add(new String[] {head, body});
      socket.write(Buffer.buffer("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    });
  }

  private static int contentLength(String lowerHead) {
    for (String line : lowerHead.split("\r\n")) {
      if (line.startsWith("content-length:")) {
        return Integer.parseInt(line.substring("content-length:".length()).trim());
      }
    }
    return 0;
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(value = ClientKind.class, names = {"HTTP1", "H2C"})
  void aGetHasHostFirst(ClientKind kind) {
    HttpClientAgent client = scope.client(kind, proxy);
    String answer = Await.result(client.request(HttpMethod.GET, "/get").compose(request -> {
      request.authority(HostAndPort.create("z.test", -1));
      return request.send().compose(HttpClientResponse::body);
    })).toString();
    assertEquals("ok", answer);
    String[] lines = onlyHead().split("\r\n");
    assertEquals("GET /get HTTP/1.1", lines[0]);
    assertEquals("host: z.test", lines[1].toLowerCase(Locale.ROOT), String.join(" | ", lines));
    assertEquals(1, hostLines(lines), String.join(" | ", lines));
  }

  /** The value is the one Vert.x's client wrote, the client's port unless the cleartext default, still first. */
  @ParameterizedTest(name = "{0}")
  @CsvSource({"80, host: z.test", "8080, host: z.test:8080"})
  void hostKeepsTheClientsPortUnlessTheDefault(int port, String hostLine) {
    HttpClientAgent client = scope.client(ClientKind.HTTP1, proxy);
    String answer = Await.result(client.request(HttpMethod.GET, "/port").compose(request -> {
      request.authority(HostAndPort.create("z.test", port));
      return request.send().compose(HttpClientResponse::body);
    })).toString();
    assertEquals("ok", answer);
    String[] lines = onlyHead().toLowerCase(Locale.ROOT).split("\r\n");
    assertEquals(List.of(hostLine), java.util.Arrays.stream(lines).filter(line -> line.startsWith("host:")).toList());
    assertEquals(hostLine, lines[1]);
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(value = ClientKind.class, names = {"HTTP1", "H2C"})
  void aChunkedUploadHasHostFirstAndStaysChunked(ClientKind kind) {
    HttpClientAgent client = scope.client(kind, proxy);
    String answer = Await.result(client.request(HttpMethod.POST, "/upload").compose(request -> {
      request.authority(HostAndPort.create("z.test", -1));
      request.setChunked(true);
      request.write("hello ");
      Future<HttpClientResponse> response = request.end("world").compose(v -> request.response());
      return response.compose(HttpClientResponse::body);
    })).toString();
    assertEquals("ok", answer);
    String head = onlyHead();
    String[] lines = head.split("\r\n");
    assertEquals("POST /upload HTTP/1.1", lines[0]);
    assertEquals("host: z.test", lines[1].toLowerCase(Locale.ROOT), String.join(" | ", lines));
    assertEquals(1, hostLines(lines), String.join(" | ", lines));
    assertTrue(head.toLowerCase(Locale.ROOT).contains("\r\ntransfer-encoding: chunked"), head);
    assertEquals("hello world", dechunk(received.get(0)[1]));
  }

  private String onlyHead() {
    assertEquals(1, received.size(), "requests the origin read");
    return received.get(0)[0];
  }

  private static long hostLines(String[] lines) {
    return java.util.Arrays.stream(lines).filter(line -> line.toLowerCase(Locale.ROOT).startsWith("host:")).count();
  }

  /** The content of a chunked body (chunk extensions and trailers are not expected here). */
  private static String dechunk(String body) {
    StringBuilder content = new StringBuilder();
    int at = 0;
    while (true) {
      int lineEnd = body.indexOf("\r\n", at);
      int size = Integer.parseInt(body.substring(at, lineEnd).trim(), 16);
      if (size == 0) {
        return content.toString();
      }
      content.append(body, lineEnd + 2, lineEnd + 2 + size);
      at = lineEnd + 2 + size + 2;
    }
  }
}
