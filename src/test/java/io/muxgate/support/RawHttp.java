package io.muxgate.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** HTTP/1.x bytes written as they are, for requests no client library would send, and the answer read to the close. */
public final class RawHttp {

  private RawHttp() {
  }

  /** Writes {@code request} to 127.0.0.1:{@code port} and returns all it reads until the server closes (10 s at most). */
  public static String exchange(int port, String request) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(request.getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      return new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
    }
  }

  /**
   * A response head up to and with its blank line, read one byte at a time so that nothing of what follows
   * is consumed; fails if the connection closes within it.
   */
  public static String readHead(InputStream in) throws IOException {
    StringBuilder head = new StringBuilder();
    while (head.length() < 4 || head.lastIndexOf("\r\n\r\n") != head.length() - 4) {
      int b = in.read();
      if (b < 0) {
        throw new AssertionError("the connection closed within the head: " + head);
      }
      head.append((char) b);
    }
    return head.toString();
  }
}
