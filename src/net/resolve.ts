import { promises as dns } from 'node:dns';
import net from 'node:net';
import { classify, interfaceAddresses, parseIp, type Classified } from './address.js';

/** A host that is not a valid name or address, or that does not resolve. */
export class HostError extends Error {}

const NAME = /^[a-z0-9._-]+$/i;
// RFC 6761 §6.3: localhost names are loopback; they are answered here, never by a resolver.
const LOCALHOST = /(^|\.)localhost$/;

/**
 * The canonical form of a host from a URL or a CONNECT target, as the WHATWG URL parser reads it
 * (which is how fetch and browsers do): lower case, no brackets, no trailing dot, an IPv4 number
 * in any spelling (`2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1`) as a dotted quad, IPv6
 * compressed. Anything else (zone ids, `@`, spaces, empty labels) is refused, not guessed at.
 */
export function canonicalHost(raw: string): string {
  const bracketed = raw.startsWith('[') && raw.endsWith(']');
  const bare = bracketed ? raw.slice(1, -1) : raw;
  let host: string | undefined;
  if (net.isIPv6(bare) || (!bracketed && NAME.test(bare))) {
    try {
      host = new URL(`http://${net.isIPv6(bare) ? `[${bare}]` : bare}/`).hostname.replace(/^\[|\]$/g, '');
    } catch {
      host = undefined;
    }
  }
  if (host && !net.isIP(host)) host = host.replace(/\.$/, '');
  if (!host || (!net.isIP(host) && (host.startsWith('.') || host.includes('..')))) throw new HostError(`${raw} is not a host name or address`);
  return host;
}

/** The addresses a canonical host resolves to, looked up once. */
export async function resolveHost(host: string): Promise<string[]> {
  if (net.isIP(host)) return [host];
  if (LOCALHOST.test(host)) return ['127.0.0.1', '::1'];
  try {
    return (await dns.lookup(host, { all: true, verbatim: true })).map((a) => a.address);
  } catch {
    throw new HostError(`could not resolve ${host}`);
  }
}

/**
 * Resolves a canonical host once and returns the first address `check` accepts (the one to
 * connect to: nothing is looked up again), or why the first address was refused.
 */
export async function pickAddress(host: string, check: (c: Classified) => string | undefined): Promise<{ address: string } | { refused: string }> {
  const local = interfaceAddresses();
  let refused: string | undefined;
  for (const text of await resolveHost(host)) {
    const ip = parseIp(text);
    if (!ip) continue;
    const c = classify(ip, local);
    const reason = check(c);
    if (!reason) return { address: c.address };
    refused ??= reason;
  }
  return { refused: refused ?? `${host} has no usable address` };
}
