package io.muxgate.support;

import io.vertx.core.Future;
import io.vertx.core.http.HttpClient;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Many GETs for one host sent at once through the proxy, and what tests check about them. */
public final class Bursts {

  private Bursts() {
  }

  /** {@code n} GETs for {@code host}, to {@code pathPrefix + i}, all sent before any is answered. */
  public static List<Future<Exchange>> send(HttpClient client, String host, String pathPrefix, int n) {
    List<Future<Exchange>> responses = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      responses.add(Exchange.get(client, host, pathPrefix + i));
    }
    return responses;
  }

  /** Waits for every response and asserts each is a 200. */
  public static void assertAllOk(List<Future<Exchange>> responses) {
    Await.result(Future.all(responses));
    responses.forEach(r -> assertEquals(200, r.result().status()));
  }

  public static void assertAllOk(List<Future<Exchange>> responses, String message) {
    Await.result(Future.all(responses));
    responses.forEach(r -> assertEquals(200, r.result().status(), message));
  }

  /**
   * Origin connections a burst of {@code n} GETs for {@code host} opens, counted while the origin holds
   * all {@code n} in flight; then releases them and asserts each answered 200.
   */
  public static int connectionsOpened(TestOrigin origin, HttpClient client, String host, int n) {
    int before = origin.connectionsAccepted();
    origin.park();
    List<Future<Exchange>> responses = send(client, host, "/", n);
    origin.awaitInFlight(n);
    int opened = origin.connectionsAccepted() - before;
    origin.release();
    assertAllOk(responses);
    return opened;
  }
}
