package io.muxgate.origin;

import io.vertx.core.VertxException;
import io.vertx.core.http.HttpClosedException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.ConnectException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * How a closed connection is classified: for a stream, from the stream's id against the last GOAWAY,
 * whether the connection was reused, whether the response had started and whether the request is
 * idempotent; for a pooled connection still being opened, from whether it carried any request.
 */
class FailureClassificationTest {

  private static final int NO_GOAWAY = OriginConnection.NO_GOAWAY;

  @ParameterizedTest(name = "stream {0}, goaway {1}, reused {2}, started {3}, idempotent {4} -> {5} {6}")
  @CsvSource({
    // never on the wire: not a replay at all
    "-1, -1, false, false, false, UNPROCESSED, not_sent",
    // above the GOAWAY's last-stream-id: provably unprocessed, whatever the method
    "9, 7, false, false, false, UNPROCESSED, goaway",
    "9, 7, true, false, true, UNPROCESSED, goaway",
    // accepted by the GOAWAY, then the connection closed before any response byte
    "7, 7, false, false, true, UNANSWERED, closed_after_goaway",
    "5, 7, true, false, true, UNANSWERED, closed_after_goaway",
    "5, 7, true, false, false, CLOSED, closed after GOAWAY",
    "5, 7, true, true, true, CLOSED, closed after GOAWAY",
    // no GOAWAY: a reused connection that closed before any response byte raced an idle close, a new one
    // a stopping origin, or the origin processed the request and died: only an idempotent request may go
    // again
    "5, -1, true, false, true, UNANSWERED, closed_before_response",
    "5, -1, true, false, false, CLOSED, closed",
    "1, -1, false, false, true, UNANSWERED, closed_on_new_connection",
    "0, -1, false, false, true, UNANSWERED, closed_on_new_connection",
    "1, -1, false, false, false, CLOSED, closed",
    "1, -1, false, true, true, CLOSED, closed",
    "5, -1, true, true, true, CLOSED, closed",
  })
  void closedConnection(int streamId, int goAwayLastStreamId, boolean reused, boolean responseStarted,
                        boolean idempotent, FailureKind kind, String detail) {
    OriginFailure failure = OriginFailure.classifyStream(new HttpClosedException("closed"), streamId,
      goAwayLastStreamId == -1 ? NO_GOAWAY : goAwayLastStreamId, reused, responseStarted, idempotent);

    assertEquals(kind, failure.kind(), failure.getMessage());
    assertEquals(kind.reason() + ": " + detail, failure.getMessage());
  }

  @Test
  void pooledConnectionClosedBeforeItWasReadyCarriedNoRequest() {
    VertxException closed = new VertxException("Connection was closed");
    assertEquals(FailureKind.UNPROCESSED, OriginFailure.ofPoolConnect(closed, false).kind());
    assertTrue(OriginFailure.ofPoolConnect(closed, false).neverSent());
    assertEquals(FailureKind.TLS_HANDSHAKE, OriginFailure.ofPoolConnect(closed, true).kind());
    assertEquals(FailureKind.CONNECTION_REFUSED,
      OriginFailure.ofPoolConnect(new ConnectException("Connection refused"), false).kind());
    assertEquals(FailureKind.CLOSED, OriginFailure.ofConnect(closed, false).kind(),
      "outside the pool (WebSocket upgrades) it stays CLOSED");
  }

  /** A new connection closed unanswered is replayed, but still charged to the origin's health. */
  @Test
  void onlyANewConnectionClosedUnansweredCountsAgainstTheOrigin() {
    HttpClosedException closed = new HttpClosedException("closed");
    assertTrue(OriginFailure.classifyStream(closed, 1, NO_GOAWAY, false, false, true).countsAgainstOrigin());
    assertTrue(OriginFailure.classifyStream(closed, 1, NO_GOAWAY, false, false, false).countsAgainstOrigin());
    assertFalse(OriginFailure.classifyStream(closed, 5, NO_GOAWAY, true, false, true).countsAgainstOrigin());
    assertFalse(OriginFailure.classifyStream(closed, 1, 1, false, false, true).countsAgainstOrigin());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"UNPROCESSED, goaway, goaway", "UNANSWERED, closed_after_goaway, closed_after_goaway",
    "UNANSWERED, closed_before_response, closed_before_response",
    "UNANSWERED, closed_on_new_connection, closed_on_new_connection",
    "CONNECTION_REFUSED, refused, connection_refused"})
  void replayReasonIsAFixedLabel(FailureKind kind, String detail, String label) {
    assertEquals(label, new OriginFailure(kind, detail).replayReason());
  }
}
