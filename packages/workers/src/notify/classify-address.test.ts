import { describe, expect, it } from "vitest";
import { type AddressClass, classifyAddress, isAddressAllowed } from "./classify-address.js";

const table: [string, AddressClass][] = [
  ["8.8.8.8", "public"],
  ["93.184.216.34", "public"],
  ["0.0.0.0", "unspecified"],
  ["0.1.2.3", "unspecified"],
  ["10.0.0.1", "private"],
  ["172.16.0.1", "private"],
  ["172.31.255.255", "private"],
  ["172.32.0.1", "public"],
  ["192.168.1.1", "private"],
  ["100.64.0.1", "cgnat"],
  ["100.127.255.255", "cgnat"],
  ["100.128.0.1", "public"],
  ["127.0.0.1", "loopback"],
  ["127.255.255.254", "loopback"],
  ["169.254.169.254", "link_local"],
  ["224.0.0.1", "multicast"],
  ["239.255.255.250", "multicast"],
  ["255.255.255.255", "reserved"],
  ["192.0.2.10", "reserved"],
  ["198.18.0.1", "reserved"],
  ["2001:4860:4860::8888", "public"],
  ["2606:4700::1111", "public"],
  ["::", "unspecified"],
  ["::1", "loopback"],
  ["0:0:0:0:0:0:0:1", "loopback"],
  ["::ffff:127.0.0.1", "ipv4_mapped"],
  ["::ffff:8.8.8.8", "ipv4_mapped"],
  ["::ffff:7f00:1", "ipv4_mapped"],
  ["::127.0.0.1", "reserved"],
  ["64:ff9b::10.0.0.1", "translated"],
  ["2002:c0a8:101::1", "translated"],
  ["fc00::1", "unique_local"],
  ["fd12:3456:789a::1", "unique_local"],
  ["fe80::1", "link_local"],
  ["fe80::1%eth0", "link_local"],
  ["ff02::1", "multicast"],
  ["2001:db8::1", "reserved"],
  ["not-an-ip", "invalid"],
  ["1.2.3", "invalid"],
];

describe("classifyAddress", () => {
  for (const [address, expected] of table) {
    it(`${address} is ${expected}`, () => expect(classifyAddress(address)).toBe(expected));
  }
});

describe("isAddressAllowed", () => {
  it("allows only public addresses by default", () => {
    const allowed = table.filter(([a]) => isAddressAllowed(a)).map(([a]) => a);
    expect(allowed).toEqual([
      "8.8.8.8",
      "93.184.216.34",
      "172.32.0.1",
      "100.128.0.1",
      "2001:4860:4860::8888",
      "2606:4700::1111",
    ]);
  });

  it("allows private networks when configured, but never unspecified, multicast or invalid", () => {
    const opts = { allowPrivateNetworks: true };
    for (const a of [
      "127.0.0.1",
      "10.0.0.1",
      "::1",
      "fd12::1",
      "169.254.169.254",
      "100.64.0.1",
      "::ffff:10.0.0.1",
    ])
      expect(isAddressAllowed(a, opts)).toBe(true);
    for (const a of ["0.0.0.0", "::", "224.0.0.1", "ff02::1", "nope"])
      expect(isAddressAllowed(a, opts)).toBe(false);
  });
});
