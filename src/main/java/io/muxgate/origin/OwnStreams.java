package io.muxgate.origin;

import io.netty.channel.Channel;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Stream;

import java.util.ArrayList;
import java.util.List;

/**
 * Closes the frame streams a connection carries for us (origin side or client side) the moment its
 * channel closes, before the channel fails the writes it still holds. The codec reports each failed
 * write to Vert.x as a connection error, and Vert.x 5.0.10, failing its own streams on one, takes every
 * active stream for one of its own and throws at the first that is not; with ours closed first it finds
 * only its own. A write fails that way whenever the peer resets the connection while the socket is
 * full: a client that vanishes mid-download, an origin that dies mid-upload.
 */
public final class OwnStreams {

  private OwnStreams() {
  }

  /** Streams of {@code connection} carrying {@code key} are closed when {@code channel} closes. */
  public static void closeWithChannel(Channel channel, Http2Connection connection, Http2Connection.PropertyKey key) {
    // The close future completes inside the channel's close, before its unwritten writes are failed
    // and long before the pipeline hears of it (channelInactive).
    channel.closeFuture().addListener(closed -> close(connection, key));
  }

  private static void close(Http2Connection connection, Http2Connection.PropertyKey key) {
    List<Http2Stream> ours = new ArrayList<>();
    try {
      connection.forEachActiveStream(stream -> {
        if (stream.getProperty(key) != null) {
          ours.add(stream);
        }
        return true;
      });
    } catch (Http2Exception e) {
      return;
    }
    for (Http2Stream stream : ours) {
      // Marked reset so that cancelling its queued DATA does not try to write a RST_STREAM to the closed
      // channel: that write would fail, and be reported to Vert.x as a connection error in turn.
      stream.resetSent();
      stream.close();
    }
  }
}
