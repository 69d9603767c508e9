package io.muxgate.origin;

import io.netty.handler.codec.http2.Http2FrameReader;

/**
 * Around an HTTP/2 codec's frame reader ({@link ConnectionInternals#wrapFrameReader}): those that look at
 * the frames as they are read implement {@link #readFrame} alone and leave the rest to the codec's reader.
 */
abstract class ForwardingFrameReader implements Http2FrameReader {

  final Http2FrameReader reader;

  ForwardingFrameReader(Http2FrameReader reader) {
    this.reader = reader;
  }

  @Override
  public Configuration configuration() {
    return reader.configuration();
  }

  @Override
  public void close() {
    reader.close();
  }
}
