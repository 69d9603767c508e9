package io.muxgate.forward;

import io.muxgate.admin.AdminApi;
import io.muxgate.support.Await;
import io.muxgate.support.GeneratedBody;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TcpTable;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A download the proxy cuts because its HTTP/1.1 client does not take it ({@code client_stalled} here,
 * {@code client_too_slow} past the held-bytes budget: the same cut) lets go of the connection at once, and
 * with it of what was queued for the client. Vert.x's reset closed the connection only once that was sent,
 * which a client that reads nothing never lets happen: its queue stayed in direct memory until the idle
 * timeout, so that cutting clients to free memory freed none, and 200 such clients ran a 64 MB process out
 * of direct memory, failing other streams' origin reads.
 */
class CutForTheClientTest {

  /** Far longer than the test waits: only the cut may end the connection. */
  private static final int IDLE_TIMEOUT_S = 3600;

  @RegisterExtension
  final TestScope scope = new TestScope();

  @Test
  void anHttp11ClientThatReadsNothingIsResetWhenItsDownloadIsCut() throws IOException {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C);
    origin.handler(req -> GeneratedBody.write(req.response().setChunked(true), 64L << 20, 7)
      .onSuccess(d -> req.response().end()));
    ProxyHarness proxy = scope.startProxy(Map.of("quick.json", ProxyHarness.zone("quick", "quick.test",
        List.of(origin.url()), new JsonObject().put("proxy_read_timeout", 1))),
      new JsonObject().put("client_idle_timeout_s", IDLE_TIMEOUT_S));
    try (Socket socket = new Socket()) {
      socket.setReceiveBufferSize(4096);
      socket.connect(new InetSocketAddress("127.0.0.1", proxy.httpPort()));
      socket.getOutputStream()
        .write("GET /big HTTP/1.1\r\nHost: quick.test\r\n\r\n".getBytes(StandardCharsets.US_ASCII));

      Await.until(() -> proxy.lastRecord("/big") != null, "the proxy to give up on the download");
      assertEquals("client_stalled", proxy.lastRecord("/big").error(), "cut for the client's sake");
      assertEquals(0.0,
        new AdminApi(scope.vertx(), proxy.adminPort()).sumForZone("muxgate_origin_errors_total", "quick"),
        "the client's fault, not the origin's");
      Await.until(() -> !TcpTable.established(proxy.httpPort(), socket.getLocalPort()),
        "the proxy to let go of the connection, long before its idle timeout");
      socket.setSoTimeout(10_000);
      assertThrows(SocketException.class, () -> socket.getInputStream().readAllBytes(),
        "a reset that dropped what was queued, not a close after sending it");
    }
  }
}
