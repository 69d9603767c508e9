package io.muxgate.observe;

import io.muxgate.config.OriginAddress;

/**
 * What one request did, as the access log and the request metrics see it. {@code zone} is null for a
 * request no zone claimed; {@code origin} fields are null or -1 when no origin was reached.
 */
public record ExchangeRecord(
  long startMillis,
  long durationNanos,
  String zone,
  String method,
  String path,
  int status,
  String clientProtocol,
  OriginAddress origin,
  String originProtocol,
  int originLocalPort,
  int originStatus,
  long bytesIn,
  long bytesOut,
  String error,
  int attempts) {
}
