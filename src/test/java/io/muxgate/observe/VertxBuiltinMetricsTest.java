package io.muxgate.observe;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.muxgate.support.Await;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.micrometer.MicrometerMetricsFactory;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The contract's "plus Vert.x built-ins": the Vert.x metrics Main enables, on a Vert.x built the way
 * Main builds it. Pool metrics are exported; the per-request HTTP, per-byte TCP and event-bus ones are not.
 */
class VertxBuiltinMetricsTest {

  @Test
  void poolMetricsAreExportedAndTheCostlyOrNoisyDomainsAreNot() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Vertx vertx = Vertx.builder().with(new VertxOptions().setMetricsOptions(ProxyMetrics.vertxBuiltins()))
      .withMetrics(new MicrometerMetricsFactory(registry)).build();
    try {
      Await.result(vertx.executeBlocking(() -> "done"));
      vertx.eventBus().consumer("an.address", msg -> { });

      String scrape = registry.scrape();

      assertTrue(scrape.contains("vertx_pool_completed_total"), "worker pool metrics exported");
      assertFalse(scrape.contains("vertx_eventbus_"), "no event-bus metrics");
      assertFalse(scrape.contains("vertx_http_"), "no per-request HTTP metrics");
      assertFalse(scrape.contains("vertx_net_"), "no per-byte TCP metrics");
    } finally {
      Await.result(vertx.close());
    }
  }
}
