package io.muxgate.testing;

import io.netty.handler.codec.http2.Http2Settings;

import java.time.Duration;
import java.util.Objects;

/** Options for a {@link FaultOrigin}; {@link #start()} binds it. Defaults: h2c, answer 200 "ok", ack PINGs. */
public final class FaultOriginBuilder {

    ListenMode mode = ListenMode.H2C;
    FaultPolicy policy = FaultPolicy.always(FaultActions.ok("ok"));
    Long maxConcurrentStreams;
    Duration initialSettingsDelay = Duration.ZERO;
    boolean ackPings = true;

    FaultOriginBuilder() {
    }

    public FaultOriginBuilder mode(ListenMode mode) {
        this.mode = Objects.requireNonNull(mode);
        return this;
    }

    /** Shortcut for {@code mode(ListenMode.H2_TLS)}. */
    public FaultOriginBuilder tls() {
        return mode(ListenMode.H2_TLS);
    }

    public FaultOriginBuilder policy(FaultPolicy policy) {
        this.policy = Objects.requireNonNull(policy);
        return this;
    }

    /** SETTINGS_MAX_CONCURRENT_STREAMS in the server's first SETTINGS frame (unset = unlimited). */
    public FaultOriginBuilder maxConcurrentStreams(long maxConcurrentStreams) {
        this.maxConcurrentStreams = maxConcurrentStreams;
        return this;
    }

    /** Hold the server's first SETTINGS frame back until this long after the client's first bytes. */
    public FaultOriginBuilder initialSettingsDelay(Duration delay) {
        this.initialSettingsDelay = Objects.requireNonNull(delay);
        return this;
    }

    /** {@code false}: PINGs are counted but never acknowledged (a dead-peer simulation). */
    public FaultOriginBuilder ackPings(boolean ackPings) {
        this.ackPings = ackPings;
        return this;
    }

    public FaultOrigin start() {
        return new FaultOrigin(this);
    }

    Http2Settings initialSettings() {
        Http2Settings settings = Http2Settings.defaultSettings();
        if (maxConcurrentStreams != null) {
            settings.maxConcurrentStreams(maxConcurrentStreams);
        }
        return settings;
    }
}
