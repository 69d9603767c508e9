package io.muxgate.frontend;

import io.muxgate.config.ProcessConfig;
import io.muxgate.forward.Forwarder;
import io.muxgate.origin.TlsEngine;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.KeyCertOptions;

import java.util.List;

import static io.netty.handler.codec.http2.Http2CodecUtil.SETTINGS_ENABLE_CONNECT_PROTOCOL;

/** Listener options for the client-facing ports. */
public final class FrontendOptions {

  /** Streams one client connection may open at once (HAProxy and nginx use 100 and 128). */
  static final int MAX_CLIENT_STREAMS = 128;
  static final int MAX_HEADER_BYTES = Forwarder.MAX_REQUEST_HEADER_BYTES;
  /**
   * The HTTP/2 header list size advertised and decoded. Larger than {@link #MAX_HEADER_BYTES} on purpose:
   * the forwarder refuses lists over that with the proxy's own 431 (body, muxgate-error, access log),
   * while one over this bound gets Netty's bare 431, and a header block whose compressed size is over
   * 1.25 times it ends the connection.
   */
  static final int HTTP2_HEADER_LIST_BYTES = 256 * 1024;
  static final int STREAM_WINDOW = 1024 * 1024;
  static final int CONNECTION_WINDOW = 16 * 1024 * 1024;

  private FrontendOptions() {
  }

  /** {@code http_port}: HTTP/1.1, h2c with prior knowledge and h2c by Upgrade. */
  public static HttpServerOptions cleartext(ProcessConfig config) {
    return common(config).setPort(sharedPort(config.httpPort(), 1)).setHttp2ClearTextEnabled(true);
  }

  /** {@code https_port}: TLS with ALPN h2 and http/1.1, on OpenSSL when it is available. */
  public static HttpServerOptions tls(ProcessConfig config, KeyCertOptions keyCert) {
    return common(config).setPort(sharedPort(config.httpsPort(), 2))
      .setSsl(true)
      .setUseAlpn(true)
      .setAlpnVersions(List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1))
      .setKeyCertOptions(keyCert)
      .setSslHandshakeTimeout(10)
      .setSslEngineOptions(TlsEngine.options());
  }

  /**
   * Port 0 means "any free port"; Vert.x gives every instance its own random port for 0, and one shared
   * random port per distinct negative number, which is what several event loops on one listener need.
   */
  private static int sharedPort(int port, int listener) {
    return port == 0 ? -listener : port;
  }

  private static HttpServerOptions common(ProcessConfig config) {
    return new HttpServerOptions()
      // Every response write happens on the request's own event loop (origin stream events are
      // dispatched there), so HTTP/1.x connections can skip their cross-thread outbound queue.
      .setStrictThreadMode(true)
      .setHost(config.bind())
      .setReuseAddress(true)
      .setTcpNoDelay(true)
      .setTcpFastOpen(false)
      .setAcceptBacklog(4096)
      .setHandle100ContinueAutomatically(false)
      .setCompressionSupported(false)
      .setDecompressionSupported(false)
      // A WebSocket is tunnelled as bytes, its extensions are the origin's to accept: without these two
      // Vert.x puts an extension handler on every HTTP/1.x connection that inspects each request and response.
      .setPerMessageWebSocketCompressionSupported(false)
      .setPerFrameWebSocketCompressionSupported(false)
      // Closes a connection that has sent and been sent nothing for this long before the front end takes
      // it over (a client that connects and stays silent); from then on IdleClients decides.
      .setIdleTimeout(config.clientIdleTimeoutSeconds())
      .setMaxHeaderSize(MAX_HEADER_BYTES)
      .setMaxInitialLineLength(Forwarder.MAX_REQUEST_TARGET_CHARS)
      .setHttp2ConnectionWindowSize(CONNECTION_WINDOW)
      .setInitialSettings(http2Settings());
  }

  private static Http2Settings http2Settings() {
    Http2Settings settings = new Http2Settings()
      .setMaxConcurrentStreams(MAX_CLIENT_STREAMS)
      .setInitialWindowSize(STREAM_WINDOW)
      .setMaxHeaderListSize(HTTP2_HEADER_LIST_BYTES);
    if (FrontStreams.ENABLED) {
      // RFC 8441: clients may open WebSockets as HTTP/2 streams (extended CONNECT), which only the
      // front end's own streams carry; Vert.x's server stream does not.
      settings.set(SETTINGS_ENABLE_CONNECT_PROTOCOL, 1);
    }
    return settings;
  }
}
