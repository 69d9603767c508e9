package io.muxgate.observe;

import io.muxgate.config.OriginAddress;
import io.vertx.core.net.HostAndPort;

import java.util.List;

/**
 * What one request did, as the access log and the request metrics see it. {@code zone} is null for a
 * request no zone claimed; {@code origin} fields are null or -1 when no origin was reached;
 * {@code clientAddress} is the client's IP address, {@code host} the Host or {@code :authority} it sent
 * (null if none could be read). {@code originsTried} names the origin of each attempt before the last, in
 * order ({@code attempts - 1} of them: one that a retry went back to appears again); null when there was
 * one attempt or none.
 */
public record ExchangeRecord(
  long startMillis,
  long durationNanos,
  String zone,
  String method,
  String path,
  int status,
  String clientProtocol,
  String clientAddress,
  HostAndPort host,
  OriginAddress origin,
  String originProtocol,
  int originLocalPort,
  int originStatus,
  long bytesIn,
  long bytesOut,
  String error,
  int attempts,
  List<OriginAddress> originsTried) {
}
