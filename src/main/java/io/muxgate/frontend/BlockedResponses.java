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
    // A woken response writes at once, and a write can change the socket's writability, which runs this
    // again inside the loop: the list may be shorter when it returns. The index comes back within it (an
    // entry seen twice is checked again) rather than ending the loop, which left the responses below it
    // waiting for a next wake that need not come.
    for (int i = streams.size() - 1; i >= 0; i = Math.min(i - 1, streams.size() - 1)) {
      FrontStream s = streams.get(i);
      if ((streamId == 0 || s.id() == streamId) && s.writable()) {
        streams.remove(i);
        s.drained();
      }
    }
  }
}
