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
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A pool whose one stream is wanted by thousands of queued requests that each give it back as soon as
 * they get it (their exchange already over): the hand-overs run one after another, not nested inside
 * each other — nested, they once overflowed the stack half-way and left the pool's counts wrong.
 */
class GrantChainTest {

  private static final int QUEUED = WaitQueue.CAPACITY - 1;

  @RegisterExtension
  final TestScope scope = new TestScope();

  @Test
  void streamsHandedOnAndStraightBackLeaveThePoolConsistent() {
    TestOrigin origin = scope.startOrigin(TestOrigin.Mode.H2C);
    OriginPeer peer = new OriginPeer("z", new OriginAddress(OriginAddress.Scheme.H2C, "127.0.0.1", origin.port()),
      null, false, null, true, 1, 1, 5, 100, 900);
    OriginPool pool = new OriginPool(peer, scope.vertx(), OriginClients.create(scope.vertx(), peer),
      OriginClients.connectOptions(peer), PoolEvents.NONE);
    ContextInternal context = (ContextInternal) scope.vertx().getOrCreateContext();
    AtomicInteger handedBack = new AtomicInteger();
    Promise<Void> queued = Promise.promise();
    List<Future<Lease>> leases = new ArrayList<>();
    context.runOnContext(v -> {
      Future<Lease> first = pool.acquire(context);
      leases.add(first);
      for (int i = 0; i < QUEUED; i++) {
        pool.acquire(context).onSuccess(lease -> {
          lease.release();
          handedBack.incrementAndGet();
        });
      }
      queued.complete();
    });
    Await.result(queued.future());
    Lease first = Await.result(leases.get(0));

    context.runOnContext(v -> first.release());

    Await.until(() -> handedBack.get() == QUEUED, "every queued request to get the stream and give it back");
    assertEquals(0, pool.activeStreams());
    Lease next = Await.result(pool.acquire(context));
    assertEquals(1, pool.activeStreams(), "the pool still grants its stream");
    next.release();
  }
}
