package io.muxgate.frontend;

import java.util.ArrayList;
import java.util.List;

/**
 * The responses of one {@link FrontStreams} connection that wait for flow-control window or socket room,
 * each woken once its stream can take more: after a WINDOW_UPDATE for it, a SETTINGS frame (a new initial
 * window size changes every stream's window) or the socket turning writable again.
 */
final class BlockedResponses {

  private final List<FrontStream> streams = new ArrayList<>();

  void add(FrontStream s) {
    if (!streams.contains(s)) {
      streams.add(s);
    }
  }

  void remove(FrontStream s) {
    streams.remove(s);
  }

  /** Gives responses blocked on {@code streamId} (0: all) the chance to go on. */
  void wake(int streamId) {
    for (int i = streams.size() - 1; i >= 0 && i < streams.size(); i--) {
      FrontStream s = streams.get(i);
      if ((streamId == 0 || s.id() == streamId) && s.writable()) {
        streams.remove(i);
        s.drained();
      }
    }
  }
}
