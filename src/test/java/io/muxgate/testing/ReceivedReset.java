package io.muxgate.testing;

/**
 * An RST_STREAM frame the client sent to the {@link FaultOrigin}; tests use it to assert that a
 * proxy cancelled an upstream stream (CANCEL = 8) rather than leaving it open.
 */
public record ReceivedReset(int connectionIndex, int streamId, long errorCode) {
}
