package io.muxgate.origin;

import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.net.HostAndPort;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every client that leaves mid-request makes the proxy reset a stream on a shared origin connection, and
 * origins end a connection that resets too many (Rapid Reset guards; a Vert.x origin, as here, allows 200
 * in 30 seconds). The proxy takes a connection out of service before it gets there, so that requests in
 * flight on it, which cannot all be replayed, are not cut with it.
 */
class OriginResetBudgetTest {

  private static final int ROUNDS = 30;
  private static final int CANCELLED_PER_ROUND = 10;
  /** Rounds of streams the origin resets: 150, between the proxy's budget and the origin's own limit. */
  private static final int ORIGIN_RESET_ROUNDS = 15;

  @RegisterExtension
  final TestScope scope = new TestScope();

  @Test
  void manyCancelledRequestsDoNotCostTheRequestsInFlightBesideThem() {
    AtomicInteger open = new AtomicInteger();
    Promise<Void> answerUpload = Promise.promise();
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(req -> {
      if (req.method() == HttpMethod.POST) {
        answerUpload.future().onComplete(v -> req.response().end("stored"));
      } else {
        open.incrementAndGet(); // left unanswered until its client leaves
        req.response().closeHandler(v -> open.decrementAndGet());
      }
    });
    ProxyHarness proxy = scope.startProxy("z", origin.url(), null);
    Future<String> upload = scope.client(ClientKind.H2C, proxy).request(HttpMethod.POST, "/upload").compose(req -> {
      req.authority(HostAndPort.create("z.test", -1));
      return req.send("data").compose(resp -> resp.body().map(body -> resp.statusCode() + " " + body));
    });

    for (int round = 0; round < ROUNDS; round++) {
      // A client connection each round: the proxy's own guard allows one client 200 resets per 30 seconds.
      HttpClientAgent client = scope.client(ClientKind.H2C, proxy);
      List<HttpClientRequest> requests = new ArrayList<>();
      for (int i = 0; i < CANCELLED_PER_ROUND; i++) {
        HttpClientRequest request = Await.result(client.request(HttpMethod.GET, "/wait"));
        request.authority(HostAndPort.create("z.test", -1));
        request.response();
        request.end();
        requests.add(request);
      }
      int round_ = round;
      Await.until(() -> open.get() == CANCELLED_PER_ROUND, "round " + round_ + "'s requests reach the origin");
      requests.forEach(HttpClientRequest::reset);
      Await.until(() -> open.get() == 0, "round " + round_ + "'s streams are reset at the origin");
    }
    answerUpload.complete();

    assertEquals("200 stored", Await.result(upload));
    int connections = origin.connectionsAccepted();
    assertTrue(connections >= 3 && connections <= 4,
      connections + " origin connections for " + ROUNDS * CANCELLED_PER_ROUND + " resets, at most 100 each");
  }

  /**
   * Streams the origin resets itself are no resets of the proxy's: they spend nothing of its budget. (Past
   * 100 of the proxy's, the connection would be retired; past 200 of its own, Netty's guard against
   * MadeYouReset has the origin end it.)
   */
  @Test
  void resetsFromTheOriginDoNotRetireItsConnection() {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C).handler(req -> req.response().reset(2));
    ProxyHarness proxy = scope.startProxy("z", origin.url(), null);
    HttpClientAgent client = scope.client(ClientKind.H2C, proxy);

    for (int round = 0; round < ORIGIN_RESET_ROUNDS; round++) {
      List<Future<Exchange>> answers = new ArrayList<>();
      for (int i = 0; i < CANCELLED_PER_ROUND; i++) {
        answers.add(Exchange.get(client, "z.test", "/reset"));
      }
      for (Future<Exchange> answer : answers) {
        assertEquals(520, Await.result(answer).status());
      }
    }

    assertEquals(1, origin.connectionsAccepted(),
      ORIGIN_RESET_ROUNDS * CANCELLED_PER_ROUND + " streams the origin reset");
  }
}
