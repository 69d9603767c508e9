package io.muxgate.testing;

/**
 * Chooses, per request, how the {@link FaultOrigin} behaves. Called on the connection's event loop
 * when a request's HEADERS frame arrives, so it must not block.
 */
@FunctionalInterface
public interface FaultPolicy {

    FaultAction decide(RecordedRequest request);

    /** The same action for every request. */
    static FaultPolicy always(FaultAction action) {
        return request -> action;
    }

    /** {@code first} on the first request for each path (across connections), {@code later} on retries. */
    static FaultPolicy firstAttemptPerPath(FaultAction first, FaultAction later) {
        return request -> request.attemptForPath() == 1 ? first : later;
    }

    /** {@code atN} for the Nth request (1-based) of every connection, {@code otherwise} for the rest. */
    static FaultPolicy onNthRequestOfConnection(int n, FaultAction atN, FaultAction otherwise) {
        return request -> request.requestNumberOnConnection() == n ? atN : otherwise;
    }
}
