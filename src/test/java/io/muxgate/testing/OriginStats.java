package io.muxgate.testing;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * What a {@link FaultOrigin} observed. Thread-safe; every change wakes {@link #await} so tests wait
 * for events instead of sleeping.
 */
public final class OriginStats {

    private final Object changed = new Object();
    private final List<ConnectionRecord> connections = new CopyOnWriteArrayList<>();
    private final AtomicInteger openConnections = new AtomicInteger();
    private final AtomicInteger requestsReceived = new AtomicInteger();
    private final List<RecordedRequest> requests = new CopyOnWriteArrayList<>();
    private final Map<String, AtomicInteger> attemptsByPath = new ConcurrentHashMap<>();
    private final List<ReceivedReset> resets = new CopyOnWriteArrayList<>();
    private final AtomicInteger pingsReceived = new AtomicInteger();
    private final List<Long> goAways = new CopyOnWriteArrayList<>();
    private final List<Integer> goAwayLastStreamIds = new CopyOnWriteArrayList<>();
    private final AtomicInteger initialWindowSize = new AtomicInteger(-1);
    private final AtomicInteger largestStreamWindowUpdate = new AtomicInteger();

    /** TCP connections accepted since start, in every {@link ListenMode}. */
    public int connectionsAccepted() {
        return connections.size();
    }

    public int openConnections() {
        return openConnections.get();
    }

    /**
     * Request HEADERS frames read off the wire (trailers excluded), including streams Netty ignores
     * because they arrived after a GOAWAY; {@link #requests()} holds only those handed to the policy.
     */
    public int requestsReceived() {
        return requestsReceived.get();
    }

    /** Like {@link #requestsReceived()}, for the connection with this 0-based index. */
    public int requestsOnConnection(int connectionIndex) {
        return connections.get(connectionIndex).requests.get();
    }

    /** The most streams that were open at the same time on any single connection. */
    public int maxConcurrentStreams() {
        return connections.stream().mapToInt(c -> c.maxConcurrentStreams.get()).max().orElse(0);
    }

    public int maxConcurrentStreamsOnConnection(int connectionIndex) {
        return connections.get(connectionIndex).maxConcurrentStreams.get();
    }

    /** Requests handed to the policy, in arrival order. */
    public List<RecordedRequest> requests() {
        return new ArrayList<>(requests);
    }

    /** RST_STREAM frames the client sent, in arrival order. */
    public List<ReceivedReset> resetsReceived() {
        return new ArrayList<>(resets);
    }

    public long resetsReceivedWithCode(long errorCode) {
        return resets.stream().filter(r -> r.errorCode() == errorCode).count();
    }

    /** Error codes of the GOAWAY frames the client sent, in arrival order. */
    public List<Long> goAwaysReceived() {
        return new ArrayList<>(goAways);
    }

    /** Last-stream-ids of the GOAWAY frames the client sent, in arrival order. */
    public List<Integer> goAwayLastStreamIds() {
        return new ArrayList<>(goAwayLastStreamIds);
    }

    /** PING frames (not PING acks) the client sent. */
    public int pingsReceived() {
        return pingsReceived.get();
    }

    /** SETTINGS_INITIAL_WINDOW_SIZE in the client's latest SETTINGS that carried one, -1 before any. */
    public int initialWindowSizeReceived() {
        return initialWindowSize.get();
    }

    /** The largest increment of a stream's (not the connection's) WINDOW_UPDATE the client sent, 0 before any. */
    public int largestStreamWindowUpdate() {
        return largestStreamWindowUpdate.get();
    }

    /**
     * Blocks until {@code condition} holds, re-checking on every change. Throws AssertionError
     * naming {@code what} on timeout, so it reads well inside a test.
     */
    public void await(String what, Predicate<OriginStats> condition, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (changed) {
            while (!condition.test(this)) {
                long remainingMillis = (deadline - System.nanoTime()) / 1_000_000;
                if (remainingMillis <= 0) {
                    throw new AssertionError("Timed out after " + timeout + " waiting for " + what);
                }
                try {
                    changed.wait(remainingMillis);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError("Interrupted waiting for " + what, e);
                }
            }
        }
    }

    /** Waits (up to 5 s) until at least {@code count} requests were received. */
    public void awaitRequestsReceived(int count) {
        await(count + " requests received", s -> s.requestsReceived() >= count, Duration.ofSeconds(5));
    }

    public void awaitOpenConnections(int count) {
        await(count + " open connections", s -> s.openConnections() == count, Duration.ofSeconds(5));
    }

    // ---- updates from the event loops ----

    ConnectionRecord connectionAccepted(io.netty.channel.Channel channel) {
        ConnectionRecord record;
        synchronized (connections) { // keeps index == position in the list
            record = new ConnectionRecord(connections.size(), channel);
            connections.add(record);
        }
        openConnections.incrementAndGet();
        signal();
        return record;
    }

    void connectionClosed() {
        openConnections.decrementAndGet();
        signal();
    }

    /**
     * Makes requests counted on the wire visible. Done only once the handler has recorded them (or at
     * the end of the read, for frames the codec dropped), so a test that saw the count go up also
     * sees that request in {@link #requests()} and in the concurrency figures.
     */
    void publishRequests(ConnectionRecord connection) {
        int unpublished = connection.wireRequests - connection.requests.get();
        if (unpublished > 0) {
            connection.requests.set(connection.wireRequests);
            requestsReceived.addAndGet(unpublished);
            signal();
        }
    }

    int nextAttemptForPath(String path) {
        return attemptsByPath.computeIfAbsent(path, p -> new AtomicInteger()).incrementAndGet();
    }

    void requestDispatched(RecordedRequest request, ConnectionRecord connection, int activeStreams) {
        connection.maxConcurrentStreams.accumulateAndGet(activeStreams, Math::max);
        requests.add(request);
        // The caller publishes the counters right after, which also wakes waiters.
    }

    void resetReceived(ReceivedReset reset) {
        resets.add(reset);
        signal();
    }

    void goAwayReceived(int lastStreamId, long errorCode) {
        goAwayLastStreamIds.add(lastStreamId);
        goAways.add(errorCode);
        signal();
    }

    void initialWindowSizeReceived(long size) {
        initialWindowSize.set((int) size);
        signal();
    }

    void streamWindowUpdateReceived(int increment) {
        largestStreamWindowUpdate.accumulateAndGet(increment, Math::max);
        signal();
    }

    void pingReceived() {
        pingsReceived.incrementAndGet();
        signal();
    }

    List<ConnectionRecord> connectionRecords() {
        return connections;
    }

    private void signal() {
        synchronized (changed) {
            changed.notifyAll();
        }
    }
}
