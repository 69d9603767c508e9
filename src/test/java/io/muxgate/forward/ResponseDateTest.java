package io.muxgate.forward;

import io.muxgate.support.Await;
import io.muxgate.support.ClientKind;
import io.muxgate.support.Exchange;
import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.netty.handler.codec.DateFormatter;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Date;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A response whose origin sent no {@code Date} gets one (RFC 9110, section 6.6.1), as do the proxy's own
 * answers; an origin's own is kept as it is.
 */
class ResponseDateTest {

  private static final String ORIGINS_OWN = "Wed, 21 Oct 2015 07:28:00 GMT";

  @RegisterExtension
  final TestScope scope = new TestScope();

  @ParameterizedTest(name = "{0} to {1}")
  @EnumSource(value = TestOrigin.Mode.class, names = {"H2C", "H1"})
  void aResponseWithoutADateGetsOneAndAnOriginsOwnIsKept(TestOrigin.Mode mode) {
    TestOrigin origin = scope.startOrigin(mode).handler(request -> {
      if (request.path().equals("/dated")) {
        request.response().putHeader("date", ORIGINS_OWN);
      }
      request.response().end("ok");
    });
    ProxyHarness proxy = scope.startProxy("z", origin.url(), null);
    for (ClientKind kind : new ClientKind[] {ClientKind.HTTP1, ClientKind.H2C}) {
      long before = System.currentTimeMillis() / 1000 * 1000;

      Exchange undated = Await.result(Exchange.get(scope.client(kind, proxy), "z.test", "/"));
      Exchange dated = Await.result(Exchange.get(scope.client(kind, proxy), "z.test", "/dated"));
      Exchange refused = Await.result(Exchange.get(scope.client(kind, proxy), "nowhere.test", "/"));

      assertNowish(undated.header("date"), before);
      assertEquals(ORIGINS_OWN, dated.header("date"), kind + ": the origin's Date is its own");
      assertEquals(421, refused.status());
      assertNowish(refused.header("date"), before);
    }
  }

  private static void assertNowish(String date, long notBefore) {
    assertNotNull(date, "a Date header");
    Date parsed = DateFormatter.parseHttpDate(date);
    assertNotNull(parsed, "an HTTP date: " + date);
    assertTrue(parsed.getTime() >= notBefore && parsed.getTime() <= System.currentTimeMillis(), date);
  }
}
