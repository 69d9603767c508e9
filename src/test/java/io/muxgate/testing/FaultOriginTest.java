package io.muxgate.testing;

import io.muxgate.testing.H2TestClient.Response;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.GoAway;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.http.HttpClientConnection;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.StreamResetException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static io.muxgate.testing.H2TestClient.await;
import static io.muxgate.testing.H2TestClient.awaitFailure;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Proves the {@link FaultOrigin} fixture does what it promises, using a real Vert.x HTTP/2 client. */
class FaultOriginTest {

    private static Vertx vertx;

    @BeforeAll
    static void startVertx() {
        vertx = Vertx.vertx();
    }

    @AfterAll
    static void stopVertx() {
        await(vertx.close());
    }

    @Test
    void answersNormallyWithHeadersBodyAndTrailersAndRecordsTheRequest() {
        CannedResponse canned = CannedResponse.ok("hello").withHeader("x-origin", "fault").withTrailer("x-sum", "42");
        try (FaultOrigin origin = FaultOrigin.start(FaultPolicy.always(FaultActions.respond(canned)));
             H2TestClient client = H2TestClient.cleartext(vertx)) {
            Response response = await(client.get(origin.port(), "/hello?x=1"));

            assertEquals(200, response.status());
            assertEquals("hello", response.body());
            assertEquals("fault", response.headers().get("x-origin"));
            assertEquals("42", response.trailers().get("x-sum"));
            RecordedRequest request = origin.stats().requests().get(0);
            assertEquals("GET", request.method());
            assertEquals("/hello?x=1", request.path());
            assertEquals(0, request.connectionIndex());
            assertEquals(1, request.requestNumberOnConnection());
            assertEquals(1, origin.stats().connectionsAccepted());
            assertEquals(1, origin.stats().requestsReceived());
        }
    }

    @Test
    void answersAPostWhoseBodyExceedsTheFlowControlWindow() {
        byte[] body = new byte[200_000]; // three times the default window: needs WINDOW_UPDATEs
        try (FaultOrigin origin = FaultOrigin.start(FaultPolicy.always(FaultActions.ok("got it")));
             H2TestClient client = H2TestClient.cleartext(vertx)) {
            assertEquals("got it", await(client.post(origin.port(), "/upload", body)).body());
            assertEquals("POST", origin.stats().requests().get(0).method());
        }
    }

    @Test
    void goAwayAnswersStreamsUpToLastStreamIdThenClosesTheConnection() {
        CompletableFuture<Void> release = new CompletableFuture<>();
        FaultPolicy policy = FaultPolicy.onNthRequestOfConnection(4,
                FaultActions.goAway(3, CannedResponse.ok("unused")),
                FaultActions.respondWhenReleased(release, CannedResponse.ok("answered")));
        try (FaultOrigin origin = FaultOrigin.start(policy); H2TestClient client = H2TestClient.cleartext(vertx)) {
            HttpClientConnection connection = client.connect(origin.port());
            CompletableFuture<GoAway> goAway = new CompletableFuture<>();
            connection.goAwayHandler(goAway::complete);
            List<CompletableFuture<Response>> responses = new ArrayList<>();
            for (int i = 1; i <= 4; i++) { // one at a time, so stream ids are 1, 3, 5, 7 in request order
                responses.add(H2TestClient.get(connection, "/r" + i));
                origin.stats().awaitRequestsReceived(i);
            }

            assertEquals(3, await(goAway).getLastStreamId());
            release.complete(null);

            assertEquals("answered", await(responses.get(0)).body()); // stream 1
            assertEquals("answered", await(responses.get(1)).body()); // stream 3
            awaitFailure(responses.get(2)); // stream 5: above lastStreamId, never answered
            awaitFailure(responses.get(3)); // stream 7: the trigger itself, above lastStreamId
            origin.stats().awaitOpenConnections(0); // closed once streams 1 and 3 finished
            assertEquals(1, origin.stats().connectionsAccepted());
        }
    }

    @Test
    void refusedStreamReachesTheClientAsResetCode7OnlyOnTheFirstAttempt() {
        FaultPolicy policy = FaultPolicy.firstAttemptPerPath(FaultActions.refuseStream(), FaultActions.ok("retried"));
        try (FaultOrigin origin = FaultOrigin.start(policy); H2TestClient client = H2TestClient.cleartext(vertx)) {
            Throwable failure = awaitFailure(client.get(origin.port(), "/flaky"));
            StreamResetException reset = assertInstanceOf(StreamResetException.class, failure);
            assertEquals(FaultActions.REFUSED_STREAM, reset.getCode());

            assertEquals("retried", await(client.get(origin.port(), "/flaky")).body());
            assertEquals(List.of(1, 2), origin.stats().requests().stream().map(RecordedRequest::attemptForPath).toList());
        }
    }

    @Test
    void firstSettingsFrameIsHeldBackForTheConfiguredDelay() throws IOException {
        // A second, so that the undelayed SETTINGS stays under it on a busy machine: that is the only upper bound.
        Duration delay = Duration.ofSeconds(1);
        try (FaultOrigin delayed = FaultOrigin.builder().initialSettingsDelay(delay).start();
             FaultOrigin prompt = FaultOrigin.builder().start()) {
            long delayedMillis = millisUntilFirstServerFrameIsSettings(delayed.port());
            long promptMillis = millisUntilFirstServerFrameIsSettings(prompt.port());

            assertTrue(delayedMillis >= delay.toMillis(), "SETTINGS came after " + delayedMillis + " ms");
            assertTrue(promptMillis < delay.toMillis(), "undelayed SETTINGS came after " + promptMillis + " ms");
            // ...and the connection still works once SETTINGS went out: the buffered preface was replayed.
            try (H2TestClient client = H2TestClient.cleartext(vertx)) {
                long start = System.nanoTime();
                assertEquals("ok", await(client.get(delayed.port(), "/")).body());
                assertTrue((System.nanoTime() - start) / 1_000_000 >= delay.toMillis());
            }
        }
    }

    @Test
    void countsTheMostConcurrentStreamsOnOneConnection() {
        CompletableFuture<Void> release = new CompletableFuture<>();
        FaultPolicy park = FaultPolicy.always(FaultActions.respondWhenReleased(release, CannedResponse.ok("done")));
        try (FaultOrigin origin = FaultOrigin.start(park); H2TestClient client = H2TestClient.cleartext(vertx)) {
            List<CompletableFuture<Response>> responses = sendMany(client, origin, 5);
            origin.stats().awaitRequestsReceived(5);
            assertEquals(5, origin.stats().maxConcurrentStreams());

            release.complete(null);
            responses.forEach(r -> assertEquals("done", await(r).body()));
            assertEquals(1, origin.stats().connectionsAccepted());
            assertEquals(5, origin.stats().requestsOnConnection(0));
        }
    }

    @Test
    void advertisedMaxConcurrentStreamsCapsWhatTheClientOpens() {
        CompletableFuture<Void> release = new CompletableFuture<>();
        FaultPolicy park = FaultPolicy.always(FaultActions.respondWhenReleased(release, CannedResponse.ok("done")));
        try (FaultOrigin origin = FaultOrigin.builder().policy(park).maxConcurrentStreams(2).start();
             H2TestClient client = H2TestClient.cleartext(vertx)) {
            List<CompletableFuture<Response>> responses = sendMany(client, origin, 5);
            origin.stats().awaitRequestsReceived(2);

            release.complete(null);
            responses.forEach(r -> assertEquals("done", await(r).body()));
            assertEquals(2, origin.stats().maxConcurrentStreams());
            assertEquals(5, origin.stats().requestsReceived());
        }
    }

    @Test
    void recordsTheClientsCancelAsAReceivedReset() {
        try (FaultOrigin origin = FaultOrigin.start(FaultPolicy.always(FaultActions.neverAnswer()));
             H2TestClient client = H2TestClient.cleartext(vertx)) {
            HttpClientRequest request = H2TestClient.newRequest(client.httpClient(), origin.port(), "/slow");
            H2TestClient.responseOf(request);
            origin.stats().awaitRequestsReceived(1);

            await(request.reset(FaultActions.CANCEL)); // reset() alone would send NO_ERROR
            origin.stats().await("a CANCEL reset", s -> s.resetsReceivedWithCode(FaultActions.CANCEL) == 1,
                    Duration.ofSeconds(5));
            assertEquals(1, origin.stats().resetsReceived().get(0).streamId());
        }
    }

    @Test
    void pingsAreCountedAndAckedOnlyWhenConfigured() {
        try (FaultOrigin acking = FaultOrigin.builder().start();
             FaultOrigin silent = FaultOrigin.builder().ackPings(false).start();
             H2TestClient client = H2TestClient.cleartext(vertx)) {
            await(pingFromConnectionContext(client, acking.port(), new CompletableFuture<>()));
            assertEquals(1, acking.stats().pingsReceived());

            CompletableFuture<HttpClientConnection> toSilent = new CompletableFuture<>();
            CompletableFuture<Buffer> unanswered = pingFromConnectionContext(client, silent.port(), toSilent);
            silent.stats().await("the PING", s -> s.pingsReceived() == 1, Duration.ofSeconds(5));
            // The server handles frames in order, so an ACK would have arrived before this response.
            await(H2TestClient.get(await(toSilent), "/after-ping"));
            assertFalse(unanswered.isDone(), "PING was acknowledged");
        }
    }

    /**
     * Vert.x 5.0.10 registers the PONG handler in a write listener; called off the event loop that
     * listener can run after the ACK was read and the PONG is lost. Pinging from the connection's
     * own context (a callback of the connect future) avoids that race.
     */
    private static CompletableFuture<Buffer> pingFromConnectionContext(
            H2TestClient client, int port, CompletableFuture<HttpClientConnection> connection) {
        return client.connectAsync(port)
                .compose(c -> {
                    connection.complete(c);
                    return c.ping(Buffer.buffer("12345678"));
                })
                .toCompletionStage().toCompletableFuture();
    }

    @Test
    void laterSettingsUpdateReachesTheClient() {
        try (FaultOrigin origin = FaultOrigin.builder().start(); H2TestClient client = H2TestClient.cleartext(vertx)) {
            HttpClientConnection connection = client.connect(origin.port());
            CompletableFuture<Http2Settings> update = new CompletableFuture<>();
            connection.remoteSettingsHandler(update::complete);
            origin.stats().awaitOpenConnections(1);

            await(origin.sendSettings(new io.netty.handler.codec.http2.Http2Settings().maxConcurrentStreams(7)));
            assertEquals(7, await(update).getMaxConcurrentStreams());
        }
    }

    @Test
    void servesH2OverTlsWithTheSelfSignedCertificate() {
        try (FaultOrigin origin = FaultOrigin.builder().tls().start();
             H2TestClient client = H2TestClient.tlsTrusting(vertx, origin.writeCertificatePem())) {
            HttpClientRequest request = H2TestClient.newRequest(client.httpClient(), origin.port(), "/secure");
            assertEquals("ok", await(H2TestClient.responseOf(request)).body());
            assertEquals(HttpVersion.HTTP_2, request.version());
        }
    }

    @Test
    void garbageInsteadOfServerHelloFailsTheTlsHandshake() {
        try (FaultOrigin garbage = FaultOrigin.builder().mode(ListenMode.TLS_HANDSHAKE_GARBAGE).start();
             H2TestClient client = H2TestClient.tlsTrustingAll(vertx)) {
            Throwable failure = awaitFailure(client.get(garbage.port(), "/"));
            assertTrue(hasCause(failure, javax.net.ssl.SSLException.class), "not a TLS failure: " + failure);
            assertEquals(1, garbage.stats().connectionsAccepted());
        }
    }

    @Test
    void silentModeAcceptsButNeverSpeaks() throws IOException {
        try (FaultOrigin origin = FaultOrigin.builder().mode(ListenMode.ACCEPT_AND_STAY_SILENT).start();
             Socket socket = new Socket(FaultOrigin.HOST, origin.port())) {
            socket.setSoTimeout(200);
            socket.getOutputStream().write(PREFACE_AND_EMPTY_SETTINGS);
            assertThrows(SocketTimeoutException.class, () -> socket.getInputStream().read());
            assertEquals(1, origin.stats().connectionsAccepted());
        }
    }

    @Test
    void connectionFaultsFailTheRequestForTheRightReason() {
        CannedResponse big = CannedResponse.ok("x".repeat(1000));
        try (FaultOrigin origin = FaultOrigin.start(request -> switch (request.path()) {
            case "/partial" -> FaultActions.partialBodyThenClose(big, 100);
            case "/close" -> FaultActions.closeConnection();
            case "/data-on-stream-0" -> FaultActions.dataFrameOnStreamZero();
            default -> FaultActions.ok("ok");
        }); H2TestClient client = H2TestClient.cleartext(vertx)) {
            CompletableFuture<Integer> partialStatus = new CompletableFuture<>();
            HttpClientRequest partial = H2TestClient.newRequest(client.httpClient(), origin.port(), "/partial");
            // body asked for before the request goes out (see H2TestClient.responseOf)
            CompletableFuture<?> partialBody = partial.response()
                    .compose(response -> {
                        partialStatus.complete(response.statusCode());
                        return response.body();
                    }).toCompletionStage().toCompletableFuture();
            partial.end();
            assertEquals(200, await(partialStatus)); // headers arrived...
            assertInstanceOf(HttpClosedException.class, awaitFailure(partialBody)); // ...the body never ended
            origin.stats().awaitOpenConnections(0); // next request must not reuse the dying connection

            assertInstanceOf(HttpClosedException.class, awaitFailure(client.get(origin.port(), "/close")));
            origin.stats().awaitOpenConnections(0);
            assertTrue(origin.stats().goAwaysReceived().isEmpty(), "abrupt closes must not look graceful");

            Throwable protocolError = awaitFailure(client.get(origin.port(), "/data-on-stream-0"));
            assertTrue(protocolError.getMessage().contains("must be associated with a stream"), protocolError.toString());
            origin.stats().await("client GOAWAY(PROTOCOL_ERROR)",
                    s -> s.goAwaysReceived().contains(FaultActions.PROTOCOL_ERROR), Duration.ofSeconds(5));
            origin.stats().awaitOpenConnections(0);
            assertEquals(3, origin.stats().connectionsAccepted());
        }
    }

    @Test
    void streamFaultsLeaveTheConnectionUsable() {
        try (FaultOrigin origin = FaultOrigin.start(request -> switch (request.path()) {
            case "/stall" -> FaultActions.headersThenStall(200);
            case "/bad-header" -> FaultActions.invalidResponseHeader();
            case "/never" -> FaultActions.neverAnswer();
            default -> FaultActions.ok("ok");
        }); H2TestClient client = H2TestClient.cleartext(vertx)) {
            Throwable malformed = awaitFailure(client.get(origin.port(), "/bad-header"));
            assertTrue(malformed.getMessage().contains("invalid header name"), malformed.toString());

            CompletableFuture<Integer> stalledStatus = new CompletableFuture<>();
            HttpClientRequest stalled = H2TestClient.newRequest(client.httpClient(), origin.port(), "/stall");
            stalled.send().onSuccess(response -> stalledStatus.complete(response.statusCode()));
            assertEquals(200, await(stalledStatus)); // headers came; the body never will

            HttpClientRequest never = H2TestClient.newRequest(client.httpClient(), origin.port(), "/never")
                    .idleTimeout(200);
            awaitFailure(H2TestClient.responseOf(never));

            assertEquals("ok", await(client.get(origin.port(), "/healthy")).body());
            assertEquals(1, origin.stats().connectionsAccepted());
        }
    }

    @Test
    void fullAcceptQueuePortMakesConnectsTimeOut() throws IOException {
        try (FullAcceptQueuePort port = FullAcceptQueuePort.open(); Socket socket = new Socket()) {
            long start = System.nanoTime();
            assertThrows(SocketTimeoutException.class,
                    () -> socket.connect(new InetSocketAddress(FaultOrigin.HOST, port.port()), 300));
            assertTrue((System.nanoTime() - start) / 1_000_000 >= 290, "connect failed fast: refused, not dropped");
            assertTrue(port.fillerConnections() >= 1);
        }
    }

    // ---- helpers ----

    private static final byte[] PREFACE_AND_EMPTY_SETTINGS = concat(
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII),
            new byte[] {0, 0, 0, 0x4, 0, 0, 0, 0, 0});

    /** Speaks just enough HTTP/2 by hand to time the server's first frame, which must be SETTINGS. */
    private static long millisUntilFirstServerFrameIsSettings(int port) throws IOException {
        try (Socket socket = new Socket(FaultOrigin.HOST, port)) {
            socket.setSoTimeout(5_000);
            OutputStream out = socket.getOutputStream();
            long start = System.nanoTime();
            out.write(PREFACE_AND_EMPTY_SETTINGS);
            out.flush();
            byte[] frameHeader = new byte[9];
            new DataInputStream(socket.getInputStream()).readFully(frameHeader);
            long elapsedMillis = (System.nanoTime() - start) / 1_000_000;
            assertEquals(0x4, frameHeader[3], "first server frame type");
            return elapsedMillis;
        }
    }

    private static List<CompletableFuture<Response>> sendMany(H2TestClient client, FaultOrigin origin, int count) {
        List<CompletableFuture<Response>> responses = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            responses.add(client.get(origin.port(), "/parked/" + i));
        }
        return responses;
    }

    private static boolean hasCause(Throwable failure, Class<? extends Throwable> type) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] both = new byte[a.length + b.length];
        System.arraycopy(a, 0, both, 0, a.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        return both;
    }
}
