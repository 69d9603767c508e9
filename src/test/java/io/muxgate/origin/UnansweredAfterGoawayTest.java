package io.muxgate.origin;

import io.muxgate.admin.AdminApi;
import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestScope;
import io.muxgate.testing.FaultAction;
import io.muxgate.testing.FaultActions;
import io.muxgate.testing.FaultOrigin;
import io.muxgate.testing.RecordedRequest;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpMethod;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * An origin that sends GOAWAY covering streams it accepted, then closes without answering them, as
 * happens when a stopping origin's close turns into a TCP reset that drops its last answers. The origin
 * may have processed those requests: idempotent ones are replayed on a new connection, the others get 520.
 */
class UnansweredAfterGoawayTest {

  @RegisterExtension
  final TestScope scope = new TestScope();

  @Test
  void acceptedStreamsLeftUnansweredAtCloseAreReplayedOnlyIfIdempotent() {
    // On the first connection: park every request until /close, which GOAWAYs with its own stream as
    // the last one (so every stream so far was accepted) and closes the connection without answering.
    FaultAction goAwayThenClose = exchange -> {
      exchange.goAway(exchange.streamId(), FaultActions.NO_ERROR);
      exchange.closeConnection();
    };
    FaultOrigin origin = scope.track(FaultOrigin.start(request -> {
      if (request.connectionIndex() > 0) {
        return FaultActions.ok(request.method() + " " + request.path());
      }
      return request.path().equals("/close") ? goAwayThenClose : FaultActions.neverAnswer();
    }));
    ProxyHarness proxy = scope.startProxy("z", "h2c://" + origin.authority(), null);
    HttpClientAgent client = scope.client(ClientKind.H2C, proxy);

    Future<Exchange> get = Exchange.get(client, "z.test", "/get");
    Future<Exchange> put = Exchange.send(client, HttpMethod.PUT, "z.test", "/put", req -> { },
      Buffer.buffer("put body"));
    Future<Exchange> post = Exchange.send(client, HttpMethod.POST, "z.test", "/post", req -> { },
      Buffer.buffer("post body"));
    origin.stats().awaitRequestsReceived(3);
    Exchange close = Await.result(Exchange.get(client, "z.test", "/close"));

    assertEquals(200, close.status(), close.header("muxgate-error"));
    assertEquals("GET /get", Await.result(get).body());
    assertEquals("PUT /put", Await.result(put).body());
    Exchange postOutcome = Await.result(post);
    assertEquals(520, postOutcome.status(), "a POST the origin may have processed is not sent again");
    assertEquals("origin_closed", postOutcome.header("muxgate-error"));

    Map<String, Long> attempts = origin.stats().requests().stream()
      .collect(Collectors.groupingBy(RecordedRequest::path, Collectors.counting()));
    assertEquals(Map.of("/get", 2L, "/put", 2L, "/post", 1L, "/close", 2L), attempts);
    assertEquals(3, replays(proxy, "closed_after_goaway"));
  }

  /** {@code muxgate_origin_replays_total} for zone z and one reason. */
  private int replays(ProxyHarness proxy, String reason) {
    String text = new AdminApi(scope.vertx(), proxy.adminPort()).get("/metrics").body();
    Matcher m = Pattern.compile("(?m)^muxgate_origin_replays_total\\{([^}]*)\\} (\\S+)$").matcher(text);
    double sum = 0;
    while (m.find()) {
      if (m.group(1).contains("zone=\"z\"") && m.group(1).contains("reason=\"" + reason + "\"")) {
        sum += Double.parseDouble(m.group(2));
      }
    }
    return (int) sum;
  }
}
