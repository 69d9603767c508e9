package io.muxgate.origin;

import io.muxgate.support.Await;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestScope;
import io.muxgate.testing.CannedResponse;
import io.muxgate.testing.FaultActions;
import io.muxgate.testing.FaultOrigin;
import io.muxgate.testing.FaultPolicy;
import io.muxgate.testing.RecordedRequest;
import io.vertx.core.Future;
import io.vertx.core.http.HttpClientAgent;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An HTTP/2 origin that ends every connection with GOAWAY(NO_ERROR) after a fixed number of requests, as
 * nginx does at {@code keepalive_requests} (1000 by default, often lowered): the streams of ours beyond
 * that count are refused each time, and the proxy learns to give each connection no more than it serves.
 */
class OriginRequestLimitTest {

  private static final int REQUESTS_PER_CONNECTION = 10;

  @RegisterExtension
  final TestScope scope = new TestScope();

  @Test
  void anOriginEndingEachConnectionAfterTenRequestsFailsNone() {
    FaultOrigin origin = scope.track(FaultOrigin.start(nginxLike()));
    ProxyHarness proxy = scope.track(ProxyHarness.start(scope.vertx(), Map.of("z.json",
      zone("z", "z.test", List.of("h2c://" + origin.authority()), null))));
    HttpClientAgent client = client(proxy);

    int burst = 300;
    List<Future<Exchange>> responses = new ArrayList<>();
    for (int i = 0; i < burst; i++) {
      responses.add(Exchange.get(client, "z.test", "/r" + i));
    }
    Await.result(Future.join(responses), 30);

    for (int i = 0; i < burst; i++) {
      Exchange exchange = responses.get(i).result();
      assertEquals(200, exchange.status(), "request " + i + ": " + exchange.header("muxgate-error"));
      assertEquals("/r" + i, exchange.body());
    }
    Map<String, Long> timesProcessed = served(origin).stream()
      .collect(Collectors.groupingBy(RecordedRequest::path, Collectors.counting()));
    assertEquals(burst, timesProcessed.size(), "every request processed");
    assertTrue(timesProcessed.values().stream().allMatch(n -> n == 1), "each processed exactly once");

    // Learned: a later burst gives each connection what the origin serves on it, and none is refused.
    int before = origin.stats().requestsReceived();
    int connectionsBefore = origin.stats().connectionsAccepted();
    List<Future<Exchange>> later = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      later.add(Exchange.get(client, "z.test", "/later" + i));
    }
    Await.result(Future.join(later), 30);
    later.forEach(f -> assertEquals(200, f.result().status()));
    assertEquals(100, origin.stats().requestsReceived() - before, "streams sent for 100 requests");
    assertEquals(100 / REQUESTS_PER_CONNECTION, origin.stats().connectionsAccepted() - connectionsBefore,
      "connections for 100 requests");
  }

  /** GOAWAY(2n-1) on the n-th request, which is answered; streams after it are not (nginx ignores them). */
  private static FaultPolicy nginxLike() {
    int lastStreamId = 2 * REQUESTS_PER_CONNECTION - 1;
    return request -> {
      int n = request.requestNumberOnConnection();
      CannedResponse echo = CannedResponse.ok(request.path());
      if (n < REQUESTS_PER_CONNECTION) {
        return FaultActions.respond(echo);
      }
      return n == REQUESTS_PER_CONNECTION ? FaultActions.goAway(lastStreamId, echo) : FaultActions.neverAnswer();
    };
  }

  private static List<RecordedRequest> served(FaultOrigin origin) {
    return origin.stats().requests().stream()
      .filter(r -> r.requestNumberOnConnection() <= REQUESTS_PER_CONNECTION)
      .toList();
  }

  /** An h2c client to the proxy, kept reachable until tear-down: Vert.x closes a client once unreachable. */
  private HttpClientAgent client(ProxyHarness proxy) {
    HttpClientAgent client = proxy.h2cClient();
    scope.track(() -> client.close().await());
    return client;
  }
}
