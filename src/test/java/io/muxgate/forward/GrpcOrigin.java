package io.muxgate.forward;

import io.grpc.Attributes;
import io.grpc.Context;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.MethodDescriptor.MethodType;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServerTransportFilter;
import io.grpc.Status;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A real grpc-java server on 127.0.0.1:0, plaintext or TLS, serving {@code muxgate.test.Echo} with
 * hand-written method descriptors over raw bytes (no protobuf). It records what a test asks it about:
 * each call's request headers by its {@code x-call-id}, and the calls it saw cancelled by their first
 * message.
 */
final class GrpcOrigin implements AutoCloseable {

  static final String SERVICE = "muxgate.test.Echo";
  static final int MAX_MESSAGE_BYTES = 16 << 20;
  static final Metadata.Key<String> CALL_ID = Metadata.Key.of("x-call-id", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> REASON = Metadata.Key.of("x-reason", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<byte[]> DETAIL = Metadata.Key.of("x-detail-bin", Metadata.BINARY_BYTE_MARSHALLER);

  static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  };

  /** Answers with the request. */
  static final MethodDescriptor<byte[], byte[]> ECHO = method("Echo", MethodType.UNARY);
  /** Fails with INVALID_ARGUMENT and custom trailers before any message: a trailers-only response. */
  static final MethodDescriptor<byte[], byte[]> FAIL = method("Fail", MethodType.UNARY);
  /** Sends two messages, then fails with ABORTED and custom trailers. */
  static final MethodDescriptor<byte[], byte[]> FAIL_AFTER_DATA = method("FailAfterData", MethodType.SERVER_STREAMING);
  /** Sends as many messages as the request's decimal number says. */
  static final MethodDescriptor<byte[], byte[]> COUNT_TO = method("CountTo", MethodType.SERVER_STREAMING);
  /** Answers once the client half-closes: how many messages and bytes it sent. */
  static final MethodDescriptor<byte[], byte[]> TALLY = method("Tally", MethodType.CLIENT_STREAMING);
  /** Echoes each message as it comes; the first one names the call for {@link #cancelled}. */
  static final MethodDescriptor<byte[], byte[]> PING_PONG = method("PingPong", MethodType.BIDI_STREAMING);
  /** Never answers; the request names the call for {@link #cancelled}. */
  static final MethodDescriptor<byte[], byte[]> HANG = method("Hang", MethodType.UNARY);
  /** Sends one message, then nothing more; the request names the call for {@link #cancelled}. */
  static final MethodDescriptor<byte[], byte[]> STALL = method("Stall", MethodType.SERVER_STREAMING);
  /** Answers with the milliseconds left before the call's deadline, or "none". */
  static final MethodDescriptor<byte[], byte[]> DEADLINE = method("Deadline", MethodType.UNARY);
  /** Resets the stream (RST_STREAM CANCEL) without a status. */
  static final MethodDescriptor<byte[], byte[]> RESET = method("Reset", MethodType.UNARY);

  private final Server server;
  private final Map<String, Metadata> headersByCall = new ConcurrentHashMap<>();
  private final Map<String, Integer> remotePortByCall = new ConcurrentHashMap<>();
  private final Map<Integer, CompletableFuture<Void>> closedConnections = new ConcurrentHashMap<>();
  private final Map<String, CompletableFuture<Void>> cancels = new ConcurrentHashMap<>();

  /** Plaintext (h2c) when {@code certificate} is null, else TLS with that PEM pair. */
  GrpcOrigin(Path certificate, Path key) throws IOException {
    ServerCredentials credentials = certificate == null ? InsecureServerCredentials.create()
      : TlsServerCredentials.create(certificate.toFile(), key.toFile());
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0), credentials)
      .maxInboundMessageSize(MAX_MESSAGE_BYTES)
      .addService(ServerInterceptors.intercept(service(), new RecordHeaders()))
      .addTransportFilter(new ServerTransportFilter() {
        @Override
        public void transportTerminated(Attributes transport) {
          connectionClosed(remotePort(transport)).complete(null);
        }
      })
      .build().start();
  }

  int port() {
    return server.getPort();
  }

  /** The request headers of the call the client tagged with {@code x-call-id: id}, or null. */
  Metadata headers(String id) {
    return headersByCall.get(id);
  }

  /** The client port of the connection that carried the call tagged {@code id}, or null. */
  Integer remotePort(String id) {
    return remotePortByCall.get(id);
  }

  /** Completes when the connection from client port {@code port} has ended. */
  CompletableFuture<Void> connectionClosed(int port) {
    return closedConnections.computeIfAbsent(port, k -> new CompletableFuture<>());
  }

  private static int remotePort(Attributes transport) {
    return ((InetSocketAddress) transport.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR)).getPort();
  }

  /** Completes when the origin sees the call named {@code id} cancelled (its client or a proxy reset it). */
  CompletableFuture<Void> cancelled(String id) {
    return cancels.computeIfAbsent(id, k -> new CompletableFuture<>());
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  private static MethodDescriptor<byte[], byte[]> method(String name, MethodType type) {
    return MethodDescriptor.<byte[], byte[]>newBuilder().setType(type)
      .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, name))
      .setRequestMarshaller(BYTES).setResponseMarshaller(BYTES).build();
  }

  private ServerServiceDefinition service() {
    return ServerServiceDefinition.builder(SERVICE)
      .addMethod(ECHO, ServerCalls.asyncUnaryCall((request, out) -> {
        out.onNext(request);
        out.onCompleted();
      }))
      .addMethod(FAIL, ServerCalls.asyncUnaryCall((request, out) ->
        out.onError(Status.INVALID_ARGUMENT.withDescription("no such widget: ü 100%").asRuntimeException(details()))))
      .addMethod(FAIL_AFTER_DATA, ServerCalls.asyncServerStreamingCall((request, out) -> {
        out.onNext(text("first"));
        out.onNext(text("second"));
        out.onError(Status.ABORTED.withDescription("gave up after two").asRuntimeException(details()));
      }))
      .addMethod(COUNT_TO, ServerCalls.asyncServerStreamingCall((request, out) -> {
        int count = Integer.parseInt(new String(request, StandardCharsets.US_ASCII));
        for (int i = 0; i < count; i++) {
          out.onNext(text("message " + i));
        }
        out.onCompleted();
      }))
      .addMethod(TALLY, ServerCalls.asyncClientStreamingCall(out -> new StreamObserver<byte[]>() {
        private int messages;
        private long bytes;

        @Override
        public void onNext(byte[] message) {
          messages++;
          bytes += message.length;
        }

        @Override
        public void onError(Throwable t) {
        }

        @Override
        public void onCompleted() {
          out.onNext(text(messages + " messages, " + bytes + " bytes"));
          out.onCompleted();
        }
      }))
      .addMethod(PING_PONG, ServerCalls.asyncBidiStreamingCall(out -> new StreamObserver<byte[]>() {
        private final CompletableFuture<String> name = nameOnCancel(out);

        @Override
        public void onNext(byte[] message) {
          name.complete(new String(message, StandardCharsets.UTF_8));
          out.onNext(message);
        }

        @Override
        public void onError(Throwable t) {
        }

        @Override
        public void onCompleted() {
          out.onCompleted();
        }
      }))
      .addMethod(HANG, ServerCalls.asyncUnaryCall((request, out) ->
        nameOnCancel(out).complete(new String(request, StandardCharsets.UTF_8))))
      .addMethod(STALL, ServerCalls.asyncServerStreamingCall((request, out) -> {
        nameOnCancel(out).complete(new String(request, StandardCharsets.UTF_8));
        out.onNext(text("first"));
      }))
      .addMethod(DEADLINE, ServerCalls.asyncUnaryCall((request, out) -> {
        var deadline = Context.current().getDeadline();
        out.onNext(text(deadline == null ? "none" : String.valueOf(deadline.timeRemaining(TimeUnit.MILLISECONDS))));
        out.onCompleted();
      }))
      .addMethod(RESET, ServerCalls.asyncUnaryCall((request, out) -> callContext().cancel(new TimeoutException("origin gives up"))))
      .build();
  }

  /**
   * The call's own cancellable context, which grpc-java keeps private. Its server resets a stream
   * (RST_STREAM CANCEL, no trailers) only when that context ends by its deadline, so cancelling it with a
   * timeout is how an origin's reset is had on demand.
   */
  private static Context.CancellableContext callContext() {
    try {
      Field ancestor = Context.class.getDeclaredField("cancellableAncestor");
      ancestor.setAccessible(true);
      return (Context.CancellableContext) ancestor.get(Context.current());
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("grpc-java's Context changed", e);
    }
  }

  /** Completes {@link #cancelled} for the call once its name is known, set by the handler's first call. */
  private CompletableFuture<String> nameOnCancel(StreamObserver<byte[]> out) {
    CompletableFuture<String> name = new CompletableFuture<>();
    ((ServerCallStreamObserver<byte[]>) out).setOnCancelHandler(() -> name.thenAccept(id -> cancelled(id).complete(null)));
    return name;
  }

  private static Metadata details() {
    Metadata trailers = new Metadata();
    trailers.put(REASON, "quota");
    trailers.put(DETAIL, new byte[] {0, 1, 2, (byte) 0xff});
    return trailers;
  }

  static byte[] text(String value) {
    return value.getBytes(StandardCharsets.UTF_8);
  }

  /** Keeps each tagged call's request headers, as the origin received them, and its connection's port. */
  private final class RecordHeaders implements ServerInterceptor {
    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                                                       ServerCallHandler<Q, A> next) {
      String id = headers.get(CALL_ID);
      if (id != null) {
        headersByCall.put(id, headers);
        remotePortByCall.put(id, remotePort(call.getAttributes()));
      }
      return next.startCall(call, headers);
    }
  }
}
