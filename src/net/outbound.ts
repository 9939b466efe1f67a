import type http from 'node:http';
import type net from 'node:net';
import ipaddr from 'ipaddr.js';
import type { Logger } from 'pino';
import { describe, isThisHost, parseIp, type Classified, type IP } from './address.js';
import { tcpConnect, type Connector } from './connect.js';
import { portOf, requestOver, streamOver, type HttpResult, type RequestOptions, type StreamOptions } from './http-request.js';
import { canonicalHost, pickAddress } from './resolve.js';
import { messageOf } from '../error-info.js';

/** The outbound port refused the destination; nothing was sent. */
export class OutboundRefused extends Error {}

export interface OutboundOptions {
  /** `PADDOCK_OUTBOUND_ALLOW_HOSTS`: host names, addresses and CIDR ranges that may be non-global. */
  allow: readonly string[];
  /** Paddock's own port (known once it listens): never reachable on this host. */
  serverPort: () => number;
  log: Logger;
  connect?: Connector;
}

type AllowEntry = { name: string } | { range: [IP, number] };

const unmapped = (ip: IP): IP => (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress() ? (ip as ipaddr.IPv6).toIPv4Address() : ip);

/** Parses the operator's allow-list; a bad entry stops start-up with a message naming it. */
export function parseAllowList(entries: readonly string[]): AllowEntry[] {
  return entries.map((entry): AllowEntry => {
    try {
      if (entry.includes('/')) return { range: ipaddr.parseCIDR(entry) };
      const ip = parseIp(entry.replace(/^\[(.*)\]$/, '$1'));
      if (ip) return { range: [unmapped(ip), unmapped(ip).kind() === 'ipv4' ? 32 : 128] };
      return { name: canonicalHost(entry) };
    } catch {
      throw new Error(`PADDOCK_OUTBOUND_ALLOW_HOSTS: "${entry}" is not a host name, an address or a CIDR range`);
    }
  });
}

/**
 * The way out for what the server itself fetches (the OAuth refresh grant, the MCP probe, the MCP
 * client): a URL a user gave is resolved once, its address checked, and the request sent to that
 * address. Loopback, link-local, private and reserved addresses are refused unless the operator's
 * allow-list names them; Paddock's own port on this host always is. Redirects are returned, not
 * followed.
 */
export class Outbound {
  private readonly allow: AllowEntry[];

  constructor(private readonly opts: OutboundOptions) {
    this.allow = parseAllowList(opts.allow);
  }

  async request(target: string, opts: RequestOptions): Promise<HttpResult> {
    const { url, socket } = await this.connect(target, opts.signal);
    return requestOver(url, socket, opts);
  }

  /** The same check, with the response handed over as soon as its headers arrive (for streams). */
  async open(target: string, opts: StreamOptions): Promise<http.IncomingMessage> {
    const { url, socket } = await this.connect(target, opts.signal);
    return streamOver(url, socket, opts);
  }

  /** Checks the URL and connects to the address the check picked. */
  private async connect(target: string, signal?: AbortSignal): Promise<{ url: URL; socket: net.Socket }> {
    const { url, address, port } = await this.check(target);
    return { url, socket: await (this.opts.connect ?? tcpConnect)(address, port, signal) };
  }

  /**
   * Resolves a URL's host once and checks the address, for a caller that connects by other means
   * (a server-side `git clone` pinned to `address`): throws OutboundRefused when it may not.
   */
  async check(target: string): Promise<{ url: URL; host: string; port: number; address: string }> {
    const url = new URL(target);
    const port = portOf(url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw this.refuse(url.hostname, port, `${url.protocol} is not http or https`);
    let host: string;
    try {
      host = canonicalHost(url.hostname);
    } catch (err) {
      throw this.refuse(url.hostname, port, messageOf(err));
    }
    const named = this.allow.some((e) => 'name' in e && e.name === host);
    const picked = await pickAddress(host, (c) => this.verdict(c, port, named));
    if ('refused' in picked) throw this.refuse(host, port, picked.refused);
    return { url, host, port, address: picked.address };
  }

  private verdict(c: Classified, port: number, named: boolean): string | undefined {
    if (isThisHost(c) && port === this.opts.serverPort()) return `${c.address}:${port} is the Paddock server itself`;
    if (c.class === 'global' || named) return undefined;
    const ip = unmapped(parseIp(c.address)!);
    if (this.allow.some((e) => 'range' in e && e.range[0].kind() === ip.kind() && ip.match(e.range))) return undefined;
    return `${describe(c)} (PADDOCK_OUTBOUND_ALLOW_HOSTS can allow it)`;
  }

  private refuse(host: string, port: number, reason: string): OutboundRefused {
    this.opts.log.warn({ host, port, reason }, 'outbound connection refused');
    return new OutboundRefused(`outbound connection to ${host}:${port} refused: ${reason}`);
  }
}
