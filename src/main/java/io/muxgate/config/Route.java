package io.muxgate.config;

import java.util.List;

/** Requests whose path starts with {@code prefix} go to {@code origins} instead of the zone's default. */
public record Route(String prefix, List<OriginAddress> origins, boolean stripPrefix) {
  public Route {
    origins = List.copyOf(origins);
  }
}
