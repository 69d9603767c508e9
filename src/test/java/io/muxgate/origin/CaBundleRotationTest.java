package io.muxgate.origin;

import io.muxgate.config.ConfigVerticle;
import io.muxgate.support.Await;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestScope;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpClientAgent;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * An {@code origin_ca_file} rewritten in place, as a mounted Kubernetes Secret or cert-manager's
 * rotation does, takes effect without an edit of the zone file: the next scan reads the zone again and its
 * origins get connections that trust the new bundle.
 */
class CaBundleRotationTest {

  @RegisterExtension
  final TestScope scope = new TestScope();

  @TempDir
  Path dir;

  @Test
  void aBundleRewrittenInPlaceIsTrustedFromTheNextScan() throws IOException {
    NamedTlsOrigin origin = scope.track(new NamedTlsOrigin(scope.vertx(), "origin.test"));
    NamedTlsOrigin stranger = scope.track(new NamedTlsOrigin(scope.vertx(), "origin.test"));
    Path bundle = Files.copy(stranger.certificateFile(), dir.resolve("ca.pem"));
    ProxyHarness proxy = scope.startProxy(Map.of("z.json", zone("z", "z.test", List.of(origin.url()), null)
      .put("origin_sni", "origin.test").put("origin_ca_file", bundle.toString())));
    HttpClientAgent client = proxy.h2cClient();
    Exchange before = get(client);
    assertEquals(526, before.status(), "the bundle trusts another certificate: " + before.body());

    long version = proxy.app().zones().version();
    AtomicLong inForce = new AtomicLong(version);
    MessageConsumer<Long> watch = scope.vertx().eventBus().localConsumer(ConfigVerticle.IN_FORCE_ADDRESS,
      message -> inForce.accumulateAndGet(message.body(), Math::max));
    Await.result(watch.completion(), 5);
    Path next = Files.copy(origin.certificateFile(), dir.resolve("ca.pem.new"));
    Files.move(next, bundle, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    Await.until(() -> inForce.get() > version, 10_000, "the zone read again, in force on every event loop");
    watch.unregister();

    Exchange after = get(client);
    assertEquals(200, after.status(), after.body());
    assertEquals("secure", after.body());
  }

  private static Exchange get(HttpClientAgent client) {
    return Await.result(Exchange.get(client, "z.test", "/"));
  }
}
