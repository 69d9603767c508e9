package io.muxgate.testing;

/** What the {@link FaultOrigin} does with an accepted TCP connection. */
public enum ListenMode {
    /** HTTP/2 over cleartext with prior knowledge (no HTTP/1.1 upgrade). */
    H2C,
    /** TLS with ALPN offering only "h2", then HTTP/2. */
    H2_TLS,
    /** Accept the socket and never read or write a byte: a client's TLS or HTTP/2 handshake hangs. */
    ACCEPT_AND_STAY_SILENT,
    /** Answer the first bytes (a TLS ClientHello) with bytes that are not TLS, so the handshake fails. */
    TLS_HANDSHAKE_GARBAGE
}
