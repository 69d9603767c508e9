package io.muxgate.origin;

import io.muxgate.config.OriginAddress;
import io.muxgate.forward.OriginSet;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnectOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The passive-health rules, on a clock passed in, and how the balancer reads them. */
class OriginHealthTest {

  private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

  private static Vertx vertx;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stop() {
    vertx.close().await();
  }

  @Test
  void fiveRequestFailuresInARowEjectAnOriginThatStillTakesConnections() {
    OriginHealth health = new OriginHealth();
    long t = 7_000_000_000L;
    for (int i = 1; i < OriginHealth.OUTLIER_FAILURES; i++) {
      health.requestFailed(t, FailureKind.RESET);
      assertFalse(health.ejected(t), "not after " + i);
    }
    health.requestSucceeded();
    for (int i = 1; i < OriginHealth.OUTLIER_FAILURES; i++) {
      health.requestFailed(t, FailureKind.RESET);
    }
    assertFalse(health.ejected(t), "a success in between starts the count over");
    health.requestFailed(t, FailureKind.RESET);
    assertTrue(health.ejected(t + SECOND - 1));
    assertFalse(health.ejected(t + SECOND), "back in after 1 s");

    health.requestFailed(t + SECOND, FailureKind.RESET);
    assertTrue(health.ejected(t + SECOND), "back without a success: the first failure ejects again");
    assertEquals(t + 3 * SECOND, health.ejectedUntilNanos(), "for twice as long");
    health.requestSucceeded();
    assertFalse(health.ejected(t + SECOND), "a response clears the record");
  }

  @Test
  void ejectionBackOffDoublesOnRepeatFailuresUpToTheCapAndASuccessClearsIt() {
    OriginHealth health = new OriginHealth();
    long t = 1_000 * SECOND;
    assertFalse(health.ejected(t));

    health.failed(t);
    assertTrue(health.ejected(t + SECOND - 1));
    assertFalse(health.ejected(t + SECOND), "back in after 1 s");

    t += SECOND;
    health.failed(t);
    assertTrue(health.ejected(t + 2 * SECOND - 1));
    assertFalse(health.ejected(t + 2 * SECOND), "back in after 2 s");

    for (int i = 0; i < 10; i++) {
      t = health.ejectedUntilNanos();   // each failure as the last back-off ends
      health.failed(t);
    }
    assertEquals(t + 32 * SECOND, health.ejectedUntilNanos(), "capped at 32 s");

    health.succeeded();
    assertFalse(health.ejected(t));
    health.failed(t);
    assertEquals(t + SECOND, health.ejectedUntilNanos(), "a success starts the back-off over");
  }

  /** A new connection clears an ejection, not the count of requests failed in a row at an origin that takes them. */
  @Test
  void aConnectionOpeningDoesNotResetTheFailedRequestsInARow() {
    OriginHealth health = new OriginHealth();
    long t = 1_000 * SECOND;
    for (int i = 1; i < OriginHealth.OUTLIER_FAILURES; i++) {
      health.requestFailed(t, FailureKind.CLOSED);
      health.succeeded();   // each failure closed its connection, and the next request opened one
    }
    health.requestFailed(t, FailureKind.CLOSED);
    assertTrue(health.ejected(t), "the fifth in a row ejects");
  }

  /** A burst that fails together is one ejection: the requests already sent when it began do not double it. */
  @Test
  void failuresDuringAnEjectionDoNotLengthenIt() {
    OriginHealth health = new OriginHealth();
    long t = 1_000 * SECOND;
    health.failed(t);
    for (int i = 1; i <= 20; i++) {
      health.failed(t + i * 1_000_000L);
      health.requestFailed(t + i * 1_000_000L, FailureKind.RESET);
    }
    assertEquals(t + SECOND, health.ejectedUntilNanos(), "still the first back-off");
    assertEquals(t + 20_000_000L, health.lastFailureNanos(), "the latest failure is still recorded");

    health.failed(t + SECOND);
    assertEquals(t + 3 * SECOND, health.ejectedUntilNanos(), "a failure after it ends doubles it");
  }

  @Test
  void balancerSkipsAnEjectedOrigin() {
    OriginPool down = pool(1);
    OriginPool up = pool(2);
    down.health().failed(System.nanoTime());
    OriginSet set = new OriginSet(List.of(down, up));

    for (int i = 0; i < 50; i++) {
      assertSame(up, set.pick(null));
    }
  }

  @Test
  void withEveryOriginEjectedTheLeastRecentlyFailedGetsTheRequest() {
    OriginPool failedFirst = pool(1);
    OriginPool failedLast = pool(2);
    long now = System.nanoTime();
    failedFirst.health().failed(now - 100_000);
    failedLast.health().failed(now);
    OriginSet set = new OriginSet(List.of(failedLast, failedFirst));

    for (int i = 0; i < 50; i++) {
      assertSame(failedFirst, set.pick(null));
    }
    assertSame(failedLast, set.pick(failedFirst), "a retry avoids the origin that just failed");
  }

  @Test
  void healthyOriginsShareSequentialTraffic() {
    OriginPool a = pool(1);
    OriginPool b = pool(2);
    OriginSet set = new OriginSet(List.of(a, b));
    int picksOfA = 0;
    for (int i = 0; i < 200; i++) {
      picksOfA += set.pick(null) == a ? 1 : 0;
    }
    assertTrue(picksOfA > 50 && picksOfA < 150, "equal loads are broken at random, a got " + picksOfA);
  }

  private static OriginPool pool(int port) {
    return pool(vertx, port);
  }

  /** A pool for an h2c origin on {@code port}, as a zone with default settings and a 10 s connect timeout has. */
  static OriginPool pool(Vertx vertx, int port) {
    OriginPeer peer = new OriginPeer("z", new OriginAddress(OriginAddress.Scheme.H2C, "127.0.0.1", port), null,
      false, null, true, 100, 64, 10, 100, 900);
    return new OriginPool(peer, vertx, vertx.createHttpClient(), new HttpConnectOptions(), PoolEvents.NONE);
  }
}
