package io.muxgate.testing;

/**
 * What to do with one request stream. Built-in actions live in {@link FaultActions}; tests can write
 * their own against the {@link OriginExchange} controls.
 */
@FunctionalInterface
public interface FaultAction {

    /** Runs on the connection's event loop right after the request's HEADERS frame arrived. */
    void perform(OriginExchange exchange);
}
