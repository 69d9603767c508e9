package io.muxgate.config;

import io.netty.util.NetUtil;

/**
 * An IPv6 address as a zone's {@code hosts} entry and a request's Host or :authority are compared: the
 * address without its brackets, in RFC 5952's text (lower case, the longest run of zeros as {@code ::}),
 * so that {@code [::1]}, {@code ::1} and {@code [0:0:0:0:0:0:0:1]} are one host.
 */
public final class Ipv6Host {

  private Ipv6Host() {
  }

  /** {@code host}, with or without brackets, in the form hosts are compared in, or null if it is no IPv6 address. */
  public static String canonical(String host) {
    String address = host.length() > 1 && host.charAt(0) == '[' && host.charAt(host.length() - 1) == ']'
      ? host.substring(1, host.length() - 1) : host;
    // A zone index (fe80::1%eth0) names an interface of one machine, never a host a client asks for.
    if (address.indexOf('%') >= 0 || address.indexOf('[') >= 0 || !NetUtil.isValidIpV6Address(address)) {
      return null;
    }
    return NetUtil.bytesToIpAddress(NetUtil.createByteArrayFromIpAddressString(address));
  }
}
