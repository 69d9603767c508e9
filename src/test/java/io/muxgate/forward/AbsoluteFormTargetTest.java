package io.muxgate.forward;

import io.muxgate.support.ProxyHarness;
import io.muxgate.support.TestOrigin;
import io.muxgate.support.TestScope;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static io.muxgate.support.ProxyHarness.zone;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An HTTP/1.1 request whose target is absolute ({@code GET http://host/path}, as proxies and some clients
 * send it) is routed by the target's host, which RFC 9112, section 3.2.2 puts before Host, and reaches the
 * origin in origin form: an HTTP/2 origin would refuse a :path that is a URL.
 */
class AbsoluteFormTargetTest {

  @RegisterExtension
  final TestScope scope = new TestScope();
  private TestOrigin origin;
  private TestOrigin api;
  private ProxyHarness proxy;

  @BeforeEach
  void setUp() {
    origin = scope.startOrigin(TestOrigin.Mode.H2C);
    api = scope.startOrigin(TestOrigin.Mode.H2C);
    JsonObject z = zone("z", "z.test", List.of(origin.url()), null).put("routes", new JsonArray()
      .add(new JsonObject().put("prefix", "/api/").put("origins", new JsonArray().add(api.url()))
        .put("strip_prefix", true)));
    proxy = scope.startProxy(Map.of("z.json", z, "other.json", zone("other", "other.test", List.of(api.url()), null)));
  }

  @Test
  void theTargetsHostPicksTheZoneAndTheOriginGetsAPath() throws IOException {
    String answer = exchange("GET http://Z.test:8080/echo?q=1 HTTP/1.1\r\nHost: other.test\r\n\r\n");

    assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
    HttpServerRequest seen = origin.received().get(0);
    assertEquals("/echo?q=1", seen.uri());
    assertEquals("Z.test:8080", seen.authority().toString());
    assertEquals(0, api.requests(), "Host named the other zone");
  }

  @Test
  void aStrippedRoutePrefixComesOffThePath() throws IOException {
    String answer = exchange("GET http://z.test/api/items?all HTTP/1.1\r\nHost: z.test\r\n\r\n");

    assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
    assertEquals("/items?all", api.received().get(0).uri());
  }

  @Test
  void aTargetWithoutPathGetsSlash() throws IOException {
    String answer = exchange("GET http://z.test?x=1 HTTP/1.1\r\nHost: z.test\r\n\r\n");

    assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
    assertEquals("/?x=1", origin.received().get(0).uri());
  }

  @Test
  void anUnknownTargetHostGets421WhateverHostSays() throws IOException {
    String answer = exchange("GET http://nobody.test/ HTTP/1.1\r\nHost: z.test\r\n\r\n");

    assertTrue(answer.startsWith("HTTP/1.1 421"), answer);
    assertEquals(0, origin.requests());
  }

  /** Only http and https URIs name something a reverse proxy can serve (RFC 9112, section 3.2.2). */
  @Test
  void aSchemeOtherThanHttpGets400() throws IOException {
    String answer = exchange("GET ftp://z.test/x HTTP/1.1\r\nHost: z.test\r\n\r\n");

    assertRefused(answer, "bad_request_target");
  }

  /** RFC 9110, section 4.2.4: http(s) URIs must not carry userinfo; the target is bad, Host is not missing. */
  @Test
  void aTargetWithUserinfoGets400BadTarget() throws IOException {
    String answer = exchange("GET http://user:pw@z.test/x HTTP/1.1\r\nHost: z.test\r\n\r\n");

    assertRefused(answer, "bad_request_target");
  }

  /** RFC 9110, section 4.2.1: an http URI with an empty host must be rejected as invalid, port or not. */
  @ParameterizedTest
  @ValueSource(strings = {"http:///x", "http://:80/x"})
  void aTargetWithAnEmptyHostGets400BadTarget(String target) throws IOException {
    String answer = exchange("GET " + target + " HTTP/1.1\r\nHost: z.test\r\n\r\n");

    assertRefused(answer, "bad_request_target");
  }

  @Test
  void anHttpsTargetIsServed() throws IOException {
    String answer = exchange("GET HTTPS://z.test/secure HTTP/1.1\r\nHost: z.test\r\n\r\n");

    assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
    assertEquals("/secure", origin.received().get(0).uri());
  }

  private void assertRefused(String answer, String reason) {
    assertTrue(answer.startsWith("HTTP/1.1 400"), answer);
    assertTrue(answer.toLowerCase(Locale.ROOT).contains("\r\nmuxgate-error: " + reason + "\r\n"), answer);
    assertTrue(answer.endsWith("\r\n\r\nerror code: 400"), answer);
    assertEquals(0, origin.requests() + api.requests(), "the refused request reached an origin");
  }

  private String exchange(String request) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", proxy.httpPort())) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(request.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII));
      return new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
    }
  }
}
