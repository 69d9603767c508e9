package io.muxgate.forward;

import io.grpc.CallOptions;
import io.grpc.ChannelCredentials;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptors;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.RefusedPort;
import io.muxgate.support.TestScope;
import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static io.muxgate.forward.GrpcOrigin.text;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real grpc-java client through Muxgate to a real grpc-java server: every kind of call, statuses with
 * and without data before them, large messages, deadlines, cancels and resets either way, metadata,
 * over h2c and h2 (TLS) on both sides.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GrpcEndToEndTest {

  private static final long BOUND_SECONDS = 10;
  /**
   * The bound of one large echo, 12 MiB through the proxy: a wedged window never reopens, so a generous
   * bound still catches it. On a 2-core machine loaded past 20, a fresh JVM's first echoes took up to 29 s
   * (H2C_TO_TLS 8 to 13 s), each whole; in one JVM, 30 rounds of the four routes after the first took 4 s at
   * most, none wedged.
   */
  private static final long LARGE_MESSAGE_BOUND_SECONDS = 60;
  /** The idle zone's origin_idle_timeout: the proxy PINGs its idle connections every 1.5 s. */
  private static final int IDLE_TIMEOUT_SECONDS = 6;
  /** The stalling zone's proxy_read_timeout. */
  private static final int READ_TIMEOUT_SECONDS = 1;
  /** The limited zone's max_request_body_bytes. */
  private static final int BODY_LIMIT_BYTES = 64 * 1024;

  /** Client side (cleartext prior knowledge or TLS with ALPN) and origin side (h2c or https). */
  enum Route {
    H2C_TO_H2C(false, false), H2C_TO_TLS(false, true), TLS_TO_H2C(true, false), TLS_TO_TLS(true, true);

    final boolean tlsFront;
    final boolean tlsOrigin;

    Route(boolean tlsFront, boolean tlsOrigin) {
      this.tlsFront = tlsFront;
      this.tlsOrigin = tlsOrigin;
    }
  }

  @RegisterExtension
  final TestScope scope = new TestScope();
  private GrpcOrigin plainOrigin;
  private GrpcOrigin tlsOrigin;
  private final Map<Route, ManagedChannel> channels = new EnumMap<>(Route.class);
  private final Map<Boolean, ManagedChannel> downChannels = new HashMap<>();
  private ManagedChannel idleChannel;
  private final Map<Boolean, ManagedChannel> stallingChannels = new HashMap<>();
  private final Map<Boolean, ManagedChannel> limitedChannels = new HashMap<>();

  @BeforeAll
  void start() throws Exception {
    Path dir = Files.createTempDirectory("grpc-test");
    scope.track(() -> ProxyHarness.deleteTree(dir));
    X509Bundle bundle = new CertificateBuilder().subject("CN=muxgate grpc test")
      .addSanDnsName("plain.test").addSanDnsName("secure.test").addSanDnsName("down.test").addSanDnsName("stalling.test").addSanDnsName("limited.test").addSanDnsName("origin.test")
      .notBefore(Instant.now().minus(1, ChronoUnit.DAYS)).notAfter(Instant.now().plus(1, ChronoUnit.DAYS))
      .ecp256().setIsCertificateAuthority(true).addExtendedKeyUsageServerAuth().buildSelfSigned();
    Path certificate = Files.writeString(dir.resolve("cert.pem"), bundle.getCertificatePEM());
    Path key = Files.writeString(dir.resolve("key.pem"), bundle.getPrivateKeyPEM());

    plainOrigin = scope.track(new GrpcOrigin(null, null));
    tlsOrigin = scope.track(new GrpcOrigin(certificate, key));
    JsonObject secure = ProxyHarness.zone("secure", "secure.test", List.of("https://127.0.0.1:" + tlsOrigin.port()), null)
      .put("origin_sni", "origin.test").put("origin_ca_file", certificate.toString());
    ProxyHarness proxy = scope.startProxy(Map.of(
        "plain.json", ProxyHarness.zone("plain", "plain.test", List.of("h2c://127.0.0.1:" + plainOrigin.port()), null),
        "secure.json", secure,
        "down.json", ProxyHarness.zone("down", "down.test", List.of("h2c://127.0.0.1:" + RefusedPort.pick()), null),
        "idle.json", ProxyHarness.zone("idle", "idle.test", List.of("h2c://127.0.0.1:" + plainOrigin.port()),
          new JsonObject().put("origin_idle_timeout", IDLE_TIMEOUT_SECONDS)),
        "stalling.json", ProxyHarness.zone("stalling", "stalling.test", List.of("h2c://127.0.0.1:" + plainOrigin.port()),
          new JsonObject().put("proxy_read_timeout", READ_TIMEOUT_SECONDS)),
        "limited.json", ProxyHarness.zone("limited", "limited.test", List.of("h2c://127.0.0.1:" + plainOrigin.port()),
          new JsonObject().put("max_request_body_bytes", BODY_LIMIT_BYTES))),
      new JsonObject().put("tls", new JsonObject().put("cert_file", certificate.toString()).put("key_file", key.toString())));

    for (Route route : Route.values()) {
      channels.put(route, channel(proxy, route.tlsFront, route.tlsOrigin ? "secure.test" : "plain.test", certificate));
    }
    for (boolean tls : new boolean[] {false, true}) {
      downChannels.put(tls, channel(proxy, tls, "down.test", certificate));
      stallingChannels.put(tls, channel(proxy, tls, "stalling.test", certificate));
      limitedChannels.put(tls, channel(proxy, tls, "limited.test", certificate));
    }
    idleChannel = channel(proxy, false, "idle.test", certificate);
  }

  @ParameterizedTest
  @EnumSource(Route.class)
  void unaryCallsAnswer(Route route) {
    byte[] answer = ClientCalls.blockingUnaryCall(channels.get(route), GrpcOrigin.ECHO, options(), text("hello"));
    assertEquals("hello", new String(answer, StandardCharsets.UTF_8));
  }

  @ParameterizedTest
  @EnumSource(Route.class)
  void serverStreamsManyMessages(Route route) {
    Iterator<byte[]> messages = ClientCalls.blockingServerStreamingCall(channels.get(route), GrpcOrigin.COUNT_TO,
      options(), text("2000"));
    int count = 0;
    while (messages.hasNext()) {
      assertEquals("message " + count, new String(messages.next(), StandardCharsets.UTF_8));
      count++;
    }
    assertEquals(2000, count);
  }

  @ParameterizedTest
  @EnumSource(Route.class)
  void clientStreamsManyMessages(Route route) throws Exception {
    Responses responses = new Responses();
    StreamObserver<byte[]> requests = ClientCalls.asyncClientStreamingCall(
      channels.get(route).newCall(GrpcOrigin.TALLY, options()), responses);
    for (int i = 0; i < 500; i++) {
      requests.onNext(new byte[1024]);
    }
    requests.onCompleted();
    assertEquals(Status.Code.OK, responses.status().getCode());
    assertEquals("500 messages, 512000 bytes", responses.next());
  }

  /** Each answer comes before the next request is sent: neither way is held back until the other ends. */
  @ParameterizedTest
  @EnumSource(Route.class)
  void bidiStreamsPingPong(Route route) throws Exception {
    Responses responses = new Responses();
    StreamObserver<byte[]> requests = ClientCalls.asyncBidiStreamingCall(
      channels.get(route).newCall(GrpcOrigin.PING_PONG, options()), responses);
    for (int i = 0; i < 50; i++) {
      requests.onNext(text("ping " + i));
      assertEquals("ping " + i, responses.next());
    }
    requests.onCompleted();
    assertEquals(Status.Code.OK, responses.status().getCode());
  }

  /** The classic: a status in the response's only HEADERS frame, with END_STREAM and no DATA. */
  @ParameterizedTest
  @EnumSource(Route.class)
  void trailersOnlyErrorReachesClient(Route route) {
    StatusRuntimeException error = assertThrows(StatusRuntimeException.class,
      () -> ClientCalls.blockingUnaryCall(channels.get(route), GrpcOrigin.FAIL, options(), text("widget")));
    assertEquals(Status.Code.INVALID_ARGUMENT, error.getStatus().getCode(), error.getStatus().toString());
    assertEquals("no such widget: ü 100%", error.getStatus().getDescription());
    assertCustomTrailers(error.getTrailers());
  }

  @ParameterizedTest
  @EnumSource(Route.class)
  void errorAfterMessagesReachesClient(Route route) {
    Iterator<byte[]> messages = ClientCalls.blockingServerStreamingCall(channels.get(route),
      GrpcOrigin.FAIL_AFTER_DATA, options(), text("go"));
    assertEquals("first", new String(messages.next(), StandardCharsets.UTF_8));
    assertEquals("second", new String(messages.next(), StandardCharsets.UTF_8));
    StatusRuntimeException error = assertThrows(StatusRuntimeException.class, messages::hasNext);
    assertEquals(Status.Code.ABORTED, error.getStatus().getCode(), error.getStatus().toString());
    assertEquals("gave up after two", error.getStatus().getDescription());
    assertCustomTrailers(error.getTrailers());
  }

  /**
   * Several MiB each way: more than every flow-control window on the path, so all of them must reopen
   * (it once closed or wedged h2c origin connections, see FlushBatching).
   */
  @ParameterizedTest
  @EnumSource(Route.class)
  void largeMessagesCrossBothWays(Route route) {
    byte[] large = new byte[6 << 20];
    for (int i = 0; i < large.length; i++) {
      large[i] = (byte) (i * 31 + (i >>> 12));
    }
    assertArrayEquals(large, ClientCalls.blockingUnaryCall(channels.get(route), GrpcOrigin.ECHO,
      CallOptions.DEFAULT.withDeadlineAfter(LARGE_MESSAGE_BOUND_SECONDS, TimeUnit.SECONDS), large));
  }

  /**
   * gRPC servers allow a client two PINGs between the frames they send (grpc-java and grpc-go both; the
   * third draws GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings") and the connection's end). The idle zone's
   * connection is PINGed every 1.5 s: it must still be there, and carry the next call, after more than
   * three of those intervals.
   */
  @Test
  void idleConnectionOutlivesThePingsThatCheckIt() throws Exception {
    String first = call(idleChannel);
    int port = plainOrigin.remotePort(first);
    assertThrows(TimeoutException.class, () -> plainOrigin.connectionClosed(port).get(5_300, TimeUnit.MILLISECONDS),
      "the origin ended the idle connection");
    assertEquals(port, plainOrigin.remotePort(call(idleChannel)), "the next call took the same connection");
  }

  @ParameterizedTest
  @EnumSource(Route.class)
  void exceededDeadlineCancelsTheOriginCall(Route route) throws Exception {
    String id = UUID.randomUUID().toString();
    StatusRuntimeException error = assertThrows(StatusRuntimeException.class, () -> ClientCalls.blockingUnaryCall(
      channels.get(route), GrpcOrigin.HANG, CallOptions.DEFAULT.withDeadlineAfter(300, TimeUnit.MILLISECONDS), text(id)));
    // The origin got the deadline too (grpc-timeout) and resets the stream when it passes there, a moment
    // after the client's: should that reset win the race, the client gets the proxy's 520 instead.
    if (error.getStatus().getCode() != Status.Code.DEADLINE_EXCEEDED) {
      assertProxyError(error, 520, "origin_reset");
    }
    origin(route).cancelled(id).get(BOUND_SECONDS, TimeUnit.SECONDS);
  }

  /** No deadline on this call: only the proxy's reset, on behalf of the client, can cancel it at the origin. */
  @ParameterizedTest
  @EnumSource(Route.class)
  void clientCancelMidStreamCancelsTheOriginCall(Route route) throws Exception {
    String id = UUID.randomUUID().toString();
    ClientCall<byte[], byte[]> call = channels.get(route).newCall(GrpcOrigin.PING_PONG, CallOptions.DEFAULT);
    Responses responses = new Responses();
    StreamObserver<byte[]> requests = ClientCalls.asyncBidiStreamingCall(call, responses);
    requests.onNext(text(id));
    assertEquals(id, responses.next());
    call.cancel("client leaves", null);
    origin(route).cancelled(id).get(BOUND_SECONDS, TimeUnit.SECONDS);
    assertEquals(Status.Code.CANCELLED, responses.status().getCode());
  }

  /** A reset before any answer is the documented 520 (see {@link #assertProxyError}), at once, not a hang. */
  @ParameterizedTest
  @EnumSource(Route.class)
  void originResetBeforeAnAnswerEndsTheClientCall(Route route) {
    StatusRuntimeException error = assertThrows(StatusRuntimeException.class,
      () -> ClientCalls.blockingUnaryCall(channels.get(route), GrpcOrigin.RESET, options(), text("go")));
    assertProxyError(error, 520, "origin_reset");
  }

  @ParameterizedTest
  @EnumSource(Route.class)
  void metadataReachesTheOrigin(Route route) {
    String id = UUID.randomUUID().toString();
    Metadata headers = new Metadata();
    headers.put(GrpcOrigin.CALL_ID, id);
    headers.put(Metadata.Key.of("x-tenant", Metadata.ASCII_STRING_MARSHALLER), "acme");
    Metadata.Key<byte[]> trace = Metadata.Key.of("x-trace-bin", Metadata.BINARY_BYTE_MARSHALLER);
    headers.put(trace, new byte[] {(byte) 0xde, (byte) 0xad, 0, (byte) 0xbe, (byte) 0xef});
    ClientCalls.blockingUnaryCall(ClientInterceptors.intercept(channels.get(route),
      MetadataUtils.newAttachHeadersInterceptor(headers)), GrpcOrigin.ECHO, options(), text("tagged"));

    Metadata received = origin(route).headers(id);
    assertEquals("acme", received.get(Metadata.Key.of("x-tenant", Metadata.ASCII_STRING_MARSHALLER)));
    assertArrayEquals(new byte[] {(byte) 0xde, (byte) 0xad, 0, (byte) 0xbe, (byte) 0xef}, received.get(trace));
    String via = received.get(Metadata.Key.of("via", Metadata.ASCII_STRING_MARSHALLER));
    assertTrue(via != null && via.contains("muxgate"), "went through the proxy: via " + via);
  }

  /**
   * The client's deadline reaches the origin as grpc-timeout, so the origin can give up in time too. An hour,
   * so that the time the call takes cannot matter: what is left at the origin is the client's deadline, not
   * none, nor one of the proxy's timeouts (100 s at most here), whatever the machine's load.
   */
  @ParameterizedTest
  @EnumSource(Route.class)
  void deadlineReachesTheOrigin(Route route) {
    long deadlineMs = TimeUnit.HOURS.toMillis(1);
    byte[] left = ClientCalls.blockingUnaryCall(channels.get(route), GrpcOrigin.DEADLINE,
      CallOptions.DEFAULT.withDeadlineAfter(deadlineMs, TimeUnit.MILLISECONDS), text("when"));
    long millis = Long.parseLong(new String(left, StandardCharsets.UTF_8));
    assertTrue(millis > deadlineMs / 2 && millis <= deadlineMs, "deadline left at the origin: " + millis + " ms");
  }

  @ParameterizedTest(name = "tls {0}")
  @ValueSource(booleans = {false, true})
  void downOriginEndsTheClientCallWithThe521(boolean tls) {
    StatusRuntimeException error = assertThrows(StatusRuntimeException.class,
      () -> ClientCalls.blockingUnaryCall(downChannels.get(tls), GrpcOrigin.ECHO, options(), text("anyone?")));
    assertProxyError(error, 521, "connection_refused");
  }

  /**
   * An origin that goes quiet mid-stream for longer than proxy_read_timeout: the proxy cuts the call and
   * cancels it at the origin. The client reads the cut as INTERNAL, as it reads any other cut response,
   * not as CANCELLED, which gRPC keeps for a call its own caller cancelled (and monitoring counts so).
   */
  @ParameterizedTest(name = "tls {0}")
  @ValueSource(booleans = {false, true})
  void stalledStreamEndsAsInternalNotCancelled(boolean tls) throws Exception {
    String id = UUID.randomUUID().toString();
    Iterator<byte[]> messages = ClientCalls.blockingServerStreamingCall(stallingChannels.get(tls), GrpcOrigin.STALL,
      options(), text(id));
    assertEquals("first", new String(messages.next(), StandardCharsets.UTF_8));
    StatusRuntimeException error = assertThrows(StatusRuntimeException.class, messages::hasNext);
    assertEquals(Status.Code.INTERNAL, error.getStatus().getCode(), error.getStatus().toString());
    plainOrigin.cancelled(id).get(BOUND_SECONDS, TimeUnit.SECONDS);
  }

  /**
   * A stream whose requests outgrow max_request_body_bytes after the answer began can no longer get a 413:
   * the proxy cuts it and cancels it at the origin. The client reads INTERNAL, as behind nginx or Envoy,
   * not CANCELLED: it did not cancel the call.
   */
  @ParameterizedTest(name = "tls {0}")
  @ValueSource(booleans = {false, true})
  void streamOverTheBodyLimitEndsAsInternalNotCancelled(boolean tls) throws Exception {
    String id = UUID.randomUUID().toString();
    Responses responses = new Responses();
    StreamObserver<byte[]> requests = ClientCalls.asyncBidiStreamingCall(
      limitedChannels.get(tls).newCall(GrpcOrigin.PING_PONG, options()), responses);
    requests.onNext(text(id));
    assertEquals(id, responses.next());
    requests.onNext(new byte[BODY_LIMIT_BYTES]);
    Status status = responses.status();
    assertEquals(Status.Code.INTERNAL, status.getCode(), status.toString());
    plainOrigin.cancelled(id).get(BOUND_SECONDS, TimeUnit.SECONDS);
  }

  /** A unary call tagged with a fresh {@code x-call-id}, which it returns. */
  private static String call(ManagedChannel channel) {
    String id = UUID.randomUUID().toString();
    Metadata headers = new Metadata();
    headers.put(GrpcOrigin.CALL_ID, id);
    ClientCalls.blockingUnaryCall(ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(headers)),
      GrpcOrigin.ECHO, options(), text(id));
    return id;
  }

  private GrpcOrigin origin(Route route) {
    return route.tlsOrigin ? tlsOrigin : plainOrigin;
  }

  private static CallOptions options() {
    return CallOptions.DEFAULT.withDeadlineAfter(BOUND_SECONDS, TimeUnit.SECONDS);
  }

  /**
   * The proxy's own 52x as a gRPC client reads it: the contract's plain-text answer, which grpc-java maps to
   * UNKNOWN (its table knows 502, 503 and 504 only; grpc-go's too) and describes with the status, the
   * headers (muxgate-error among them) and the body. Not Envoy's gRPC-shaped local reply (200 with
   * grpc-status 14): the status table promises the 52x itself to every client.
   */
  private static void assertProxyError(StatusRuntimeException error, int status, String cause) {
    String description = error.getStatus().getDescription();
    assertEquals(Status.Code.UNKNOWN, error.getStatus().getCode(), description);
    assertTrue(description.contains("HTTP status code " + status) && description.contains("muxgate-error=" + cause)
      && description.contains("error code: " + status), description);
  }

  private static void assertCustomTrailers(Metadata trailers) {
    assertEquals("quota", trailers.get(GrpcOrigin.REASON));
    assertArrayEquals(new byte[] {0, 1, 2, (byte) 0xff}, trailers.get(GrpcOrigin.DETAIL));
  }

  /** A channel to the proxy's cleartext or TLS port that names {@code host}; no name is ever resolved. */
  private ManagedChannel channel(ProxyHarness proxy, boolean tls, String host, Path certificate) {
    ChannelCredentials credentials;
    try {
      credentials = tls ? TlsChannelCredentials.newBuilder().trustManager(certificate.toFile()).build()
        : InsecureChannelCredentials.create();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    ManagedChannel channel = NettyChannelBuilder.forAddress(
        new InetSocketAddress("127.0.0.1", tls ? proxy.httpsPort() : proxy.httpPort()), credentials)
      .overrideAuthority(host).maxInboundMessageSize(GrpcOrigin.MAX_MESSAGE_BYTES).build();
    scope.track(() -> channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    return channel;
  }

  /** A call's messages as they come, and its final status. */
  private static final class Responses implements StreamObserver<byte[]> {
    /** Put after the messages when the call fails, so that a test waiting for one fails at once. */
    private static final byte[] FAILED = new byte[0];
    private final LinkedBlockingQueue<byte[]> messages = new LinkedBlockingQueue<>();
    private final CompletableFuture<Status> status = new CompletableFuture<>();

    @Override
    public void onNext(byte[] message) {
      messages.add(message);
    }

    @Override
    public void onError(Throwable t) {
      status.complete(Status.fromThrowable(t));
      messages.add(FAILED);
    }

    @Override
    public void onCompleted() {
      status.complete(Status.OK);
    }

    String next() throws InterruptedException {
      byte[] message = messages.poll(BOUND_SECONDS, TimeUnit.SECONDS);
      assertTrue(message != null, "no message within " + BOUND_SECONDS + " s");
      assertTrue(message != FAILED, () -> "the call failed: " + status.join());
      return new String(message, StandardCharsets.UTF_8);
    }

    Status status() throws Exception {
      return status.get(BOUND_SECONDS, TimeUnit.SECONDS);
    }
  }
}
