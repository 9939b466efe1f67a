import net from 'node:net';
import { networkInterfaces } from 'node:os';
import ipaddr from 'ipaddr.js';

/**
 * What kind of address a connection would go to, decided on the address's bytes (parsed by
 * ipaddr.js), never on its spelling. Only `global` is ordinary internet unicast; every other
 * class is refused by the egress policy and the outbound port unless someone named it.
 */
export type AddressClass =
  | 'global'
  | 'this host'
  | 'loopback'
  | 'unspecified'
  | 'link-local'
  | 'private'
  | 'shared (CGNAT)'
  | 'unique-local'
  | 'site-local'
  | 'multicast'
  | 'broadcast'
  | 'reserved'
  | 'special-purpose';

export type IP = ipaddr.IPv4 | ipaddr.IPv6;

export interface Classified {
  /** The address in canonical text (what is connected to). */
  address: string;
  class: AddressClass;
  /** The IPv4 address carried inside an IPv6 one (mapped, compatible, NAT64, 6to4, Teredo) that decided the class. */
  via?: string;
}

// ipaddr.js range names → our classes. A range a later ipaddr.js adds falls to 'special-purpose'
// (refused): deny by default.
const V4: Record<string, AddressClass> = {
  unicast: 'global',
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  multicast: 'multicast',
  linkLocal: 'link-local',
  loopback: 'loopback',
  carrierGradeNat: 'shared (CGNAT)',
  private: 'private',
  reserved: 'reserved',
};
const V6: Record<string, AddressClass> = {
  unspecified: 'unspecified',
  linkLocal: 'link-local',
  multicast: 'multicast',
  loopback: 'loopback',
  uniqueLocal: 'unique-local',
  deprecatedSiteLocal: 'site-local',
  reserved: 'reserved',
  benchmarking: 'reserved',
  discard: 'reserved',
  // 64:ff9b:1::/48 is NAT64 for local use (RFC 8215); 64:ff9b::/96 is decoded below.
  rfc6052: 'private',
};
const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parseCIDR('2000::/3');

/**
 * Parses an address in any text form `net.isIP` accepts (an IPv6 zone kept aside) into bytes.
 * IPv6 text goes through the WHATWG host serializer first, so an embedded dotted quad is read as
 * exactly the bytes it spells (ipaddr.js reads `::a.b.c.d` as IPv4-mapped).
 */
export function parseIp(text: string): IP | undefined {
  const [bare, zone] = text.split('%', 2);
  if (net.isIPv4(bare)) return ipaddr.IPv4.parse(bare);
  if (!net.isIPv6(bare)) return undefined;
  const v6 = ipaddr.IPv6.parse(new URL(`http://[${bare}]/`).hostname.slice(1, -1));
  if (zone) v6.zoneId = zone;
  return v6;
}

function v4Of(hi: number, lo: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
}

/** The IPv4 addresses an IPv6 address leads to, for the forms that carry one. */
function embedded(v6: ipaddr.IPv6): ipaddr.IPv4[] | undefined {
  const p = v6.parts;
  switch (v6.range()) {
    case 'ipv4Mapped': // ::ffff:a.b.c.d
    case 'rfc6145': // ::ffff:0:a.b.c.d
      return [v4Of(p[6], p[7])];
    case 'rfc6052': // 64:ff9b::a.b.c.d (the well-known NAT64 prefix); the /48 local-use one is not decoded
      return p[2] === 0 ? [v4Of(p[6], p[7])] : undefined;
    case '6to4': // 2002:aabb:ccdd::/48
      return [v4Of(p[1], p[2])];
    case 'teredo': // 2001:0:server:…:~client
      return [v4Of(p[2], p[3]), v4Of(p[6] ^ 0xffff, p[7] ^ 0xffff)];
    case 'unicast': // ::a.b.c.d, IPv4-compatible (deprecated); :: and ::1 have ranges of their own
      return p.slice(0, 6).every((x) => x === 0) ? [v4Of(p[6], p[7])] : undefined;
    default:
      return undefined;
  }
}

function bytesEqual(a: IP, b: IP): boolean {
  const x = a.toByteArray();
  const y = b.toByteArray();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** The addresses of this machine's interfaces (read each time: interfaces come and go). */
export function interfaceAddresses(): IP[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).flatMap((i) => parseIp(i.address) ?? []));
}

function classOf(ip: IP, local: IP[]): AddressClass {
  const own = local.some((l) => bytesEqual(l, ip));
  if (ip.kind() === 'ipv4') {
    const c = V4[ip.range()] ?? 'special-purpose';
    return own && c !== 'loopback' && c !== 'unspecified' ? 'this host' : c;
  }
  const v6 = ip as ipaddr.IPv6;
  const range = v6.range();
  let c: AddressClass;
  if (range === 'unicast') c = v6.match(GLOBAL_UNICAST_V6) ? 'global' : 'reserved';
  else c = V6[range] ?? 'special-purpose';
  return own && c !== 'loopback' && c !== 'unspecified' ? 'this host' : c;
}

/** Classifies an address; an IPv6 address that carries IPv4 ones is as good as the worst of them. */
export function classify(ip: IP, local: IP[] = interfaceAddresses()): Classified {
  const address = ip.toString();
  if (ip.kind() === 'ipv6') {
    const inner = embedded(ip as ipaddr.IPv6);
    if (inner) {
      for (const v4 of inner) {
        const c = classOf(v4, local);
        if (c !== 'global') return { address, class: c, via: v4.toString() };
      }
      // The deprecated IPv4-compatible form is not routed anywhere, whatever it carries.
      if ((ip as ipaddr.IPv6).range() === 'unicast') return { address, class: 'reserved' };
      return { address, class: classOf(ip, local) === 'this host' ? 'this host' : 'global' };
    }
  }
  return { address, class: classOf(ip, local) };
}

/** The address is this machine: loopback, unspecified, or one of its interfaces. */
export function isThisHost(c: Classified): boolean {
  return c.class === 'loopback' || c.class === 'unspecified' || c.class === 'this host';
}

/** "10.0.0.1 is a private address", "::ffff:7f00:1 carries 127.0.0.1, a loopback address". */
export function describe(c: Classified): string {
  const what = c.class === 'this host' ? 'an address of this host' : `${c.class === 'unspecified' ? 'an' : 'a'} ${c.class} address`;
  return c.via ? `${c.address} carries ${c.via}, ${what}` : `${c.address} is ${what}`;
}
