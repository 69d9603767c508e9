package io.muxgate.support;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerResponse;

/**
 * A chunked response body sent in pieces on a timer, for checks that a response streaming for long is not
 * cut by a close the proxy has already decided (a close lingers about 2 s).
 */
public final class SlowBody {

  private static final String PIECE = "piece";

  private SlowBody() {
  }

  /** Sends {@code pieces} pieces on {@code response}, one every {@code intervalMs}, then ends it. */
  public static void send(Vertx vertx, HttpServerResponse response, int pieces, long intervalMs) {
    response.setChunked(true);
    int[] sent = {0};
    vertx.setPeriodic(intervalMs, timer -> {
      if (++sent[0] < pieces) {
        response.write(PIECE);
      } else {
        vertx.cancelTimer(timer);
        response.end(PIECE);
      }
    });
  }

  /** How many pieces {@code received} holds. */
  public static int piecesIn(String received) {
    return received.split(PIECE, -1).length - 1;
  }
}
