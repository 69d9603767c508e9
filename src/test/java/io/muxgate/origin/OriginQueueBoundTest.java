package io.muxgate.origin;

import io.muxgate.config.OriginAddress;
import io.muxgate.support.Await;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.internal.ContextInternal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The origin queue holds {@link WaitQueue#CAPACITY} requests beyond what the connections can carry: in a cold
 * pool's first burst, the streams of the connections being opened come on top of it, as they do once the
 * connections are open. Counted in the queue, they made a zone refuse 503 {@code origin_queue_full} while its
 * connection cap still allowed streams for every request (5,000 at once to a zone of 64 connections of 100
 * streams: 904 refused).
 */
class OriginQueueBoundTest {

  private static final int CONNECTIONS = 2;
  private static final int STREAMS = 3;
  private static final int CARRIED = CONNECTIONS * STREAMS;

  @RegisterExtension
  final TestScope scope = new TestScope();

  @Test
  void theQueueBoundComesOnTopOfWhatOpeningAndOpenConnectionsCarry() {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C);
    OriginPeer peer = new OriginPeer("z", new OriginAddress(OriginAddress.Scheme.H2C, "127.0.0.1", origin.port()),
      null, false, null, true, STREAMS, CONNECTIONS, 5, 100, 900);
    OriginPool pool = new OriginPool(peer, scope.vertx(), OriginClients.create(scope.vertx(), peer),
      OriginClients.connectOptions(peer), PoolEvents.NONE);
    ContextInternal context = (ContextInternal) scope.vertx().getOrCreateContext();
    List<Future<Lease>> admitted = new ArrayList<>();

    // All in one turn of the event loop: no connection can open meanwhile.
    FailureKind coldRefusal = onContext(context, () -> {
      for (int i = 0; i < CARRIED + WaitQueue.CAPACITY; i++) {
        admitted.add(pool.acquire(context));
      }
      return refusal(pool.acquire(context));
    });
    assertEquals(FailureKind.QUEUE_FULL, coldRefusal, "the request after the bound beyond the opening connections");

    Await.until(() -> onContext(context, () -> admitted.stream().filter(Future::succeeded).count()) == (long) CARRIED,
      "the open connections to carry their streams");
    assertEquals(0L, onContext(context, () -> admitted.stream().filter(Future::failed).count()), "none admitted failed");
    assertEquals((long) WaitQueue.CAPACITY, onContext(context, () -> admitted.stream().filter(f -> !f.isComplete()).count()),
      "the bound waits beyond them");
    assertEquals(FailureKind.QUEUE_FULL, onContext(context, () -> refusal(pool.acquire(context))));

    onContext(context, () -> {
      admitted.forEach(f -> f.onSuccess(Lease::release));
      return null;
    });
    Await.until(() -> onContext(context, () -> admitted.stream().allMatch(Future::succeeded)),
      "every admitted request to get a stream in turn");
    assertEquals(0, onContext(context, pool::activeStreams));
  }

  /** Why {@code acquired} failed at once, or null if it did not. */
  private static FailureKind refusal(Future<Lease> acquired) {
    return acquired.failed() ? ((OriginFailure) acquired.cause()).kind() : null;
  }

  private static <T> T onContext(ContextInternal context, Supplier<T> action) {
    Promise<T> result = Promise.promise();
    context.runOnContext(v -> result.complete(action.get()));
    return Await.result(result.future());
  }
}
