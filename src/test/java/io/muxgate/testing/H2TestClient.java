package io.muxgate.testing;

import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientConnection;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpConnectOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.PemTrustOptions;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A Vert.x HTTP/2 client (prior-knowledge h2c, or TLS + ALPN) for exercising {@link FaultOrigin}
 * from tests, with one pooled connection per origin so stream-level behaviour is predictable.
 */
final class H2TestClient implements AutoCloseable {

    /** What the client got back, body and trailers included. */
    record Response(int status, MultiMap headers, String body, MultiMap trailers) {
    }

    private final HttpClientAgent client;

    private H2TestClient(HttpClientAgent client) {
        this.client = client;
    }

    static H2TestClient cleartext(Vertx vertx) {
        return new H2TestClient(vertx.createHttpClient(baseOptions(), new PoolOptions().setHttp2MaxSize(1)));
    }

    static H2TestClient tlsTrusting(Vertx vertx, Path certificatePem) {
        HttpClientOptions options = baseOptions()
                .setSsl(true)
                .setUseAlpn(true)
                .setTrustOptions(new PemTrustOptions().addCertPath(certificatePem.toString()));
        return new H2TestClient(vertx.createHttpClient(options, new PoolOptions().setHttp2MaxSize(1)));
    }

    /** TLS without certificate checks, for origins that never get as far as a certificate. */
    static H2TestClient tlsTrustingAll(Vertx vertx) {
        HttpClientOptions options = baseOptions().setSsl(true).setUseAlpn(true).setTrustAll(true);
        return new H2TestClient(vertx.createHttpClient(options, new PoolOptions().setHttp2MaxSize(1)));
    }

    private static HttpClientOptions baseOptions() {
        return new HttpClientOptions()
                .setProtocolVersion(HttpVersion.HTTP_2)
                .setHttp2ClearTextUpgrade(false) // prior knowledge: straight to the HTTP/2 preface
                .setConnectTimeout(2_000);
    }

    /** A dedicated connection, so a test can pin several streams to it. */
    HttpClientConnection connect(int port) {
        return await(connectAsync(port));
    }

    /** Callbacks on the returned future run on the connection's own event loop. */
    Future<HttpClientConnection> connectAsync(int port) {
        return client.connect(new HttpConnectOptions().setHost(FaultOrigin.HOST).setPort(port));
    }

    CompletableFuture<Response> get(int port, String path) {
        return send(client, port, path);
    }

    /** POST {@code body}; bigger than 64 KiB it needs the origin to hand flow-control credit back. */
    CompletableFuture<Response> post(int port, String path, byte[] body) {
        return client.request(options(port, path).setMethod(HttpMethod.POST))
                .compose(request -> request.send(Buffer.buffer(body))
                        .compose(response -> response.body().map(b -> new Response(response.statusCode(),
                                response.headers(), b.toString(), response.trailers()))))
                .toCompletionStage().toCompletableFuture();
    }

    static CompletableFuture<Response> get(HttpClientConnection connection, String path) {
        return send(connection, 0, path);
    }

    /** Opens a request without sending it, for tests that reset or time it out themselves. */
    static HttpClientRequest newRequest(HttpClient httpClient, int port, String path) {
        return await(httpClient.request(options(port, path)));
    }

    HttpClient httpClient() {
        return client;
    }

    /**
     * Sends {@code request} and reads its whole response. The body is asked for before the request goes
     * out: called from a test thread, {@code send().compose(...)} could attach to a response that the event
     * loop had already read to its end, and such a body never completes.
     */
    static CompletableFuture<Response> responseOf(HttpClientRequest request) {
        Future<Response> response = request.response()
                .compose(head -> head.body().map(body -> new Response(head.statusCode(),
                        head.headers(), body.toString(), head.trailers())));
        request.end();
        return response.toCompletionStage().toCompletableFuture();
    }

    private static CompletableFuture<Response> send(HttpClient httpClient, int port, String path) {
        return httpClient.request(options(port, path))
                .compose(request -> Future.fromCompletionStage(responseOf(request)))
                .toCompletionStage().toCompletableFuture();
    }

    private static RequestOptions options(int port, String path) {
        RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET).setURI(path);
        if (port > 0) { // a connection-bound client ignores host and port
            options.setHost(FaultOrigin.HOST).setPort(port);
        }
        return options;
    }

    static <T> T await(Future<T> future) {
        return await(future.toCompletionStage().toCompletableFuture());
    }

    static <T> T await(CompletableFuture<T> future) {
        try {
            return future.get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("Expected success but got " + e, e);
        }
    }

    /** The failure of a future that must fail; the cause, unwrapped. */
    static Throwable awaitFailure(CompletableFuture<?> future) {
        try {
            Object value = future.get(5, TimeUnit.SECONDS);
            throw new AssertionError("Expected a failure but got " + value);
        } catch (java.util.concurrent.ExecutionException e) {
            return e.getCause();
        } catch (Exception e) {
            throw new AssertionError("Expected a failure but got " + e, e);
        }
    }

    @Override
    public void close() {
        await(client.close());
    }
}
