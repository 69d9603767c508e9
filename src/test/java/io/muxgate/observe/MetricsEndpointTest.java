package io.muxgate.observe;

import io.muxgate.support.Await;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpMethod;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Prometheus names and labels the contract promises, read from the admin port after real traffic. */
class MetricsEndpointTest {

  @RegisterExtension
  final TestScope scope = new TestScope();
  private TestOrigin origin;
  private ProxyHarness proxy;

  @BeforeEach
  void setUp() {
    origin = scope.startOrigin(TestOrigin.Mode.H2C);
    proxy = scope.startProxy("shop", origin.url(), null);
  }

  @Test
  void trafficShowsUpUnderTheContractMetricNames() {
    HttpClientAgent client = proxy.h2cClient();
    for (int i = 0; i < 3; i++) {
      assertEquals(200, Await.result(Exchange.get(client, "shop.test", "/")).status());
    }
    assertEquals(421, Await.result(Exchange.get(client, "unknown.test", "/")).status());

    String metrics = scrape();

    assertHasLine(metrics, "muxgate_requests_total{code=\"200\",zone=\"shop\"} 3.0");
    assertHasLine(metrics, "muxgate_request_duration_seconds_count{zone=\"shop\"} 3");
    assertTrue(metrics.contains("muxgate_request_duration_seconds_bucket{zone=\"shop\",le="), "histogram buckets");
    String origin = "origin=\"" + this.origin.url().replace("h2c://", "h2c://") + "\"";
    assertHasLine(metrics, "muxgate_origin_connections{" + origin + ",protocol=\"h2\",zone=\"shop\"} 1.0");
    assertHasLine(metrics, "muxgate_origin_connections_opened_total{" + origin + ",protocol=\"h2\",zone=\"shop\"} 1.0");
    assertHasLine(metrics, "muxgate_origin_streams_active{" + origin + ",zone=\"shop\"} 0.0");
    assertTrue(metrics.contains("jvm_memory_used_bytes"), "JVM built-ins exported");
    for (String process : List.of("process_start_time_seconds ", "process_files_open_files ",
      "process_files_max_files ", "process_resident_memory_bytes ")) {
      assertTrue(metrics.lines().anyMatch(line -> line.startsWith(process) && Double.parseDouble(
        line.substring(process.length())) > 0), process + "with a value above 0");
    }
    assertTrue(!metrics.contains("unknown.test"), "request hosts never become label values");
  }

  @Test
  void activeStreamsCountTheRequestsAnOriginIsStillAnswering() {
    Promise<Void> answer = Promise.promise();
    Promise<Void> arrived = Promise.promise();
    origin.handler(request -> {
      arrived.tryComplete();
      answer.future().onComplete(v -> request.response().end("late"));
    });
    String origin = "origin=\"" + this.origin.url() + "\"";
    Future<Exchange> pending = Exchange.get(proxy.h2cClient(), "shop.test", "/slow");
    Await.result(arrived.future());

    assertHasLine(scrape(), "muxgate_origin_streams_active{" + origin + ",zone=\"shop\"} 1.0");
    answer.complete();
    assertEquals(200, Await.result(pending).status());
    assertHasLine(scrape(), "muxgate_origin_streams_active{" + origin + ",zone=\"shop\"} 0.0");
  }

  @Test
  void originFailuresAreCountedByCode() {
    origin.close();
    HttpClientAgent client = proxy.h2cClient();

    assertEquals(521, Await.result(Exchange.get(client, "shop.test", "/")).status());

    String metrics = scrape();
    assertHasLine(metrics, "muxgate_origin_errors_total{code=\"521\",zone=\"shop\"} 1.0");
    assertHasLine(metrics, "muxgate_requests_total{code=\"521\",zone=\"shop\"} 1.0");
  }

  /** Counters a dashboard or an alert compares over time are there at 0 before their first event. */
  @Test
  void reloadAndOriginErrorCountersStartAtZero() {
    String metrics = scrape();
    assertHasLine(metrics, "muxgate_config_reloads_total{result=\"rejected\"} 0.0");
    for (int code = 520; code <= 526; code++) {
      assertHasLine(metrics, "muxgate_origin_errors_total{code=\"" + code + "\",zone=\"shop\"} 0.0");
    }

    proxy.writeZone("blog.json", ProxyHarness.zone("blog", "blog.test", List.of(origin.url()), null));
    Await.until(() -> scrape().contains("muxgate_origin_errors_total{code=\"520\",zone=\"blog\"} 0.0"),
      "a zone added later to have its counters too");
  }

  private String scrape() {
    HttpClientAgent admin = scope.vertx().createHttpClient();
    return Await.result(admin.request(HttpMethod.GET, proxy.adminPort(), "127.0.0.1", "/metrics")
      .compose(req -> req.send().compose(resp -> resp.body()))).toString();
  }

  private static void assertHasLine(String metrics, String line) {
    assertTrue(metrics.lines().anyMatch(l -> l.equals(line)),
      "missing metrics line: " + line + "\nmuxgate lines:\n"
        + String.join("\n", metrics.lines().filter(l -> l.startsWith("muxgate_")).toList()));
  }
}
