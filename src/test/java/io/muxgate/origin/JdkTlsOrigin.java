package io.muxgate.origin;

import io.netty.pkitesting.X509Bundle;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * An HTTP/1.1 origin over the JDK's TLS on 127.0.0.1:0, serving {@code certificate} with its key (any
 * type the JDK signs with, Ed25519 included), answering each connection's first request 200 "jdk" and
 * closing it. The message of each handshake its client fails ("Received fatal alert: unknown_ca") is kept.
 */
final class JdkTlsOrigin implements AutoCloseable {

  final BlockingQueue<String> failedHandshakes = new LinkedBlockingQueue<>();
  private final SSLServerSocket server;

  JdkTlsOrigin(X509Bundle certificate) throws Exception {
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(certificate.toKeyManagerFactory().getKeyManagers(), null, null);
    server = (SSLServerSocket) tls.getServerSocketFactory().createServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread acceptor = new Thread(this::accept, "jdk-tls-origin");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  int port() {
    return server.getLocalPort();
  }

  private void accept() {
    while (!server.isClosed()) {
      try (SSLSocket socket = (SSLSocket) server.accept()) {
        socket.setSoTimeout(10_000);
        socket.startHandshake();
        readHead(socket.getInputStream());
        socket.getOutputStream().write(
          "HTTP/1.1 200 OK\r\ncontent-length: 3\r\nconnection: close\r\n\r\njdk".getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().flush();
      } catch (SSLException e) {
        failedHandshakes.add(String.valueOf(e.getMessage()));
      } catch (SocketException e) {
        if (server.isClosed()) {
          return;
        }
      } catch (IOException e) {
        failedHandshakes.add(e.toString());
      }
    }
  }

  private static void readHead(InputStream in) throws IOException {
    int matched = 0;
    while (matched < 4) {
      int b = in.read();
      if (b < 0) {
        return;
      }
      matched = b == "\r\n\r\n".charAt(matched) ? matched + 1 : (b == '\r' ? 1 : 0);
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
