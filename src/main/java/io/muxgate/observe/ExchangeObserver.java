package io.muxgate.observe;

/** Told about every finished request, on the event loop that served it. Must not block. */
public interface ExchangeObserver {

  ExchangeObserver NONE = record -> {
  };

  void completed(ExchangeRecord record);

  /** Both observers, in order. */
  default ExchangeObserver andThen(ExchangeObserver next) {
    return record -> {
      completed(record);
      next.completed(record);
    };
  }
}
