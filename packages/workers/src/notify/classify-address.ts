/**
 * Classifies IP addresses for the webhook channel's SSRF guard. Hand-written CIDR tables rather than
 * `net.BlockList`: BlockList silently matches IPv4 rules against IPv4-mapped IPv6 addresses and vice
 * versa, which makes "is this exact address in this exact range" hard to reason about.
 */
import { isIPv4, isIPv6 } from "node:net";

/** What kind of address an IP is. Only `public` is reachable by default. */
export type AddressClass =
  | "public"
  | "private"
  | "loopback"
  | "link_local"
  | "cgnat"
  | "unique_local"
  | "ipv4_mapped"
  | "translated"
  | "reserved"
  | "multicast"
  | "unspecified"
  | "invalid";

/** Classes refused even when private networks are allowed: nothing sensible listens there. */
const NEVER: ReadonlySet<AddressClass> = new Set(["multicast", "unspecified", "invalid"]);

type Range4 = [base: string, bits: number, cls: AddressClass];
type Range6 = [base: string, bits: number, cls: AddressClass];

const V4: readonly Range4[] = [
  ["0.0.0.0", 8, "unspecified"], // "this network"; 0.0.0.0 reaches the local host on Linux
  ["10.0.0.0", 8, "private"],
  ["100.64.0.0", 10, "cgnat"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link_local"], // includes cloud metadata endpoints (169.254.169.254)
  ["172.16.0.0", 12, "private"],
  ["192.0.0.0", 24, "reserved"], // IETF protocol assignments
  ["192.0.2.0", 24, "reserved"], // TEST-NET-1
  ["192.88.99.0", 24, "reserved"], // 6to4 relay anycast
  ["192.168.0.0", 16, "private"],
  ["198.18.0.0", 15, "reserved"], // benchmarking
  ["198.51.100.0", 24, "reserved"], // TEST-NET-2
  ["203.0.113.0", 24, "reserved"], // TEST-NET-3
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved"], // future use, and 255.255.255.255 broadcast
];

const V6: readonly Range6[] = [
  ["::", 128, "unspecified"],
  ["::1", 128, "loopback"],
  ["::ffff:0:0", 96, "ipv4_mapped"],
  ["::", 96, "reserved"], // IPv4-compatible (deprecated)
  ["64:ff9b::", 96, "translated"], // NAT64: reaches IPv4 addresses through a translator
  ["64:ff9b:1::", 48, "translated"],
  ["100::", 64, "reserved"], // discard
  ["2001::", 32, "translated"], // Teredo
  ["2001:db8::", 32, "reserved"], // documentation
  ["2002::", 16, "translated"], // 6to4
  ["fc00::", 7, "unique_local"],
  ["fe80::", 10, "link_local"],
  ["fec0::", 10, "link_local"], // site-local (deprecated)
  ["ff00::", 8, "multicast"],
];

function ipv4ToInt(address: string): number {
  return address.split(".").reduce((acc, part) => acc * 256 + Number(part), 0);
}

function ipv6ToBigInt(address: string): bigint {
  let text = address.split("%")[0] ?? "";
  const lastColon = text.lastIndexOf(":");
  const tail = text.slice(lastColon + 1);
  if (tail.includes(".")) {
    const v4 = ipv4ToInt(tail);
    text = `${text.slice(0, lastColon + 1)}${Math.floor(v4 / 65536).toString(16)}:${(v4 % 65536).toString(16)}`;
  }
  const [head = "", rest] = text.split("::");
  const headParts = head === "" ? [] : head.split(":");
  const tailParts = rest === undefined || rest === "" ? [] : rest.split(":");
  const missing = rest === undefined ? 0 : 8 - headParts.length - tailParts.length;
  const groups = [...headParts, ...Array<string>(missing).fill("0"), ...tailParts];
  return groups.reduce((acc, group) => (acc << 16n) + BigInt(Number.parseInt(group, 16)), 0n);
}

const v4Ranges = V4.map(([base, bits, cls]) => ({ base: ipv4ToInt(base), bits, cls }));
const v6Ranges = V6.map(([base, bits, cls]) => ({ base: ipv6ToBigInt(base), bits: BigInt(bits), cls }));

function classifyV4(address: string): AddressClass {
  const value = ipv4ToInt(address);
  for (const { base, bits, cls } of v4Ranges) {
    const size = 2 ** (32 - bits);
    if (Math.floor(value / size) === Math.floor(base / size)) return cls;
  }
  return "public";
}

/**
 * Classifies an IP address (IPv4, or IPv6 with an optional zone). Anything that is not an IP address is
 * `invalid`.
 *
 * @example
 * ```ts
 * classifyAddress("10.1.2.3"); // "private"
 * classifyAddress("::ffff:127.0.0.1"); // "ipv4_mapped"
 * classifyAddress("93.184.216.34"); // "public"
 * ```
 */
export function classifyAddress(address: string): AddressClass {
  if (isIPv4(address)) return classifyV4(address);
  if (!isIPv6(address.split("%")[0] ?? "")) return "invalid";
  const value = ipv6ToBigInt(address);
  // Most specific first: the table lists ::/128 and ::1/128 before ::/96.
  for (const { base, bits, cls } of v6Ranges) {
    const shift = 128n - bits;
    if (value >> shift === base >> shift) return cls;
  }
  return "public";
}

/**
 * True when the webhook channel may connect to `address`: public addresses always; private, loopback,
 * link-local, CGNAT, unique-local, mapped, translated and reserved ones only with
 * `allowPrivateNetworks`; unspecified and multicast never.
 *
 * @example
 * ```ts
 * isAddressAllowed("127.0.0.1", { allowPrivateNetworks: false }); // false
 * ```
 */
export function isAddressAllowed(address: string, options: { allowPrivateNetworks?: boolean } = {}): boolean {
  const cls = classifyAddress(address);
  if (cls === "public") return true;
  if (NEVER.has(cls)) return false;
  return options.allowPrivateNetworks === true;
}
