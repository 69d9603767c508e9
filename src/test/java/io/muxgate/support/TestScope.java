package io.muxgate.support;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The Vert.x instance a test runs on and everything the test starts on it, closed in order when the test
 * is done. Register it with {@code @RegisterExtension final TestScope scope = new TestScope();}.
 *
 * <p>It owns one {@link Vertx} and the {@link AutoCloseable}s handed to {@link #track}. Those close in
 * reverse order of tracking, each one even if an earlier one fails, and then the Vert.x instance closes.
 * <ul>
 *   <li>In a default (per-method) test class, each test gets its own Vert.x instance, and everything
 *   started in {@code @BeforeEach} or the test closes after the test.</li>
 *   <li>In a {@code @TestInstance(PER_CLASS)} class, one Vert.x instance serves every test of the class.
 *   What {@code @BeforeAll} starts closes after the last test, then Vert.x. What {@code @BeforeEach} or a
 *   test starts still closes right after that test.</li>
 * </ul>
 * The {@code start...} and {@link #client} helpers track what they start.
 */
public final class TestScope implements BeforeAllCallback, BeforeEachCallback, AfterEachCallback, AfterAllCallback {

  private static final long VERTX_CLOSE_SECONDS = 10;
  /**
   * An HTTP/1.1 client's close waits until what it wrote is sent: ResponseChunkLeakTest's clients wait for
   * the proxy to cut their stalled uploads at a 6 s read timeout (a 3 s one took over 5 s on a slow machine).
   */
  private static final long CLIENT_CLOSE_SECONDS = 20;

  private final Deque<AutoCloseable> classResources = new ArrayDeque<>();
  private final Deque<AutoCloseable> testResources = new ArrayDeque<>();
  private Deque<AutoCloseable> tracking = classResources;
  private boolean perClass;
  /** Read from event-loop threads too (handlers that set timers), hence volatile. */
  private volatile Vertx vertx;

  @Override
  public void beforeAll(ExtensionContext context) {
    perClass = true;
    vertx = Vertx.vertx();
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    if (!perClass) {
      vertx = Vertx.vertx();
    }
    tracking = testResources;
  }

  @Override
  public void afterEach(ExtensionContext context) throws Exception {
    tracking = classResources;
    close(testResources, !perClass);
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    close(classResources, true);
  }

  public Vertx vertx() {
    if (vertx == null) {
      throw new IllegalStateException("no Vert.x outside a test: register TestScope with @RegisterExtension");
    }
    return vertx;
  }

  /** Closes {@code resource} when this scope ends (see the class comment), before anything tracked earlier. */
  public <T extends AutoCloseable> T track(T resource) {
    tracking.push(resource);
    return resource;
  }

  /** A well-behaved origin in {@code mode}, answering "hello" until given another handler. */
  public TestOrigin startOrigin(TestOrigin.Mode mode) {
    return track(TestOrigin.start(vertx(), mode));
  }

  /** Muxgate serving the given zone files (file name to zone JSON). */
  public ProxyHarness startProxy(Map<String, JsonObject> zones) {
    return track(ProxyHarness.start(vertx(), zones));
  }

  /** Muxgate serving the given zone files, with process settings over the test defaults. */
  public ProxyHarness startProxy(Map<String, JsonObject> zones, JsonObject processOverrides) {
    return track(ProxyHarness.start(vertx(), zones, processOverrides));
  }

  /**
   * Muxgate serving one zone named {@code zone}, in file {@code <zone>.json} for host {@code <zone>.test},
   * with one origin; {@code settings} may be null.
   */
  public ProxyHarness startProxy(String zone, String originUrl, JsonObject settings) {
    return startProxy(Map.of(zone + ".json", ProxyHarness.zone(zone, zone + ".test", List.of(originUrl), settings)));
  }

  /** A one-thread Netty event loop group for a test's own frame-level clients or origins, shut down when this scope ends. */
  public EventLoopGroup nettyGroup() {
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    track(() -> group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly());
    return group;
  }

  /** A client of {@code kind} to the proxy, closed when this scope ends. */
  public HttpClientAgent client(ClientKind kind, ProxyHarness proxy) {
    HttpClientAgent client = kind.client(proxy);
    track(() -> Await.result(client.close(), CLIENT_CLOSE_SECONDS));
    return client;
  }

  /**
   * A WebSocket client on this scope's Vert.x, closed when this scope ends and held until then: Vert.x
   * closes a client that has become garbage, and its connections with it, a handshake or tunnel under way
   * included. A client made and dropped in one expression fails its test whenever a GC runs too soon.
   */
  public WebSocketClient webSocketClient() {
    WebSocketClient client = vertx().createWebSocketClient();
    track(() -> Await.result(client.close(), CLIENT_CLOSE_SECONDS));
    return client;
  }

  /** An HTTP client on this scope's Vert.x with default options, closed and held as {@link #webSocketClient()}'s. */
  public HttpClientAgent httpClient() {
    HttpClientAgent client = vertx().createHttpClient();
    track(() -> Await.result(client.close(), CLIENT_CLOSE_SECONDS));
    return client;
  }

  private void close(Deque<AutoCloseable> resources, boolean thenVertx) throws Exception {
    Throwable failure = null;
    while (!resources.isEmpty()) {
      try {
        resources.pop().close();
      } catch (Exception | AssertionError e) {
        failure = firstOf(failure, e);
      }
    }
    if (thenVertx && vertx != null) {
      try {
        Await.result(vertx.close(), VERTX_CLOSE_SECONDS);
      } catch (RuntimeException | AssertionError e) {
        failure = firstOf(failure, e);
      }
      vertx = null;
    }
    if (failure instanceof Exception e) {
      throw e;
    }
    if (failure instanceof AssertionError e) {
      throw e;
    }
  }

  private static Throwable firstOf(Throwable first, Throwable next) {
    if (first == null) {
      return next;
    }
    first.addSuppressed(next);
    return first;
  }
}
