import { promises as dns } from 'node:dns';
import net from 'node:net';
import type { Logger } from 'pino';
import type { Networking } from '../../domain/environments.js';
import { checkAddress, decide } from './policy.js';

export interface EgressDenial {
  at: string;
  host: string;
  port: number;
  reason: string;
}

export class EgressRefused extends Error {}

/**
 * One session's way out: every outbound connection of its sandbox (through the proxy) and of
 * web_fetch is opened here, after the policy and the resolved address are checked. Refusals are
 * logged and kept, so the tool call that caused them can report them.
 */
export class EgressGate {
  private readonly refused: EgressDenial[] = [];

  constructor(
    private readonly opts: { sessionId: string; networking: Networking; mcpHosts: string[]; serverPort: () => number; log: Logger },
  ) {}

  async connect(host: string, port: number): Promise<net.Socket> {
    const address = await this.check(host, port);
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: address, port });
      socket.once('connect', () => resolve(socket));
      socket.once('error', reject);
    });
  }

  /** Checks host and port and returns the address to connect to. */
  async check(host: string, port: number): Promise<string> {
    const d = decide(this.opts.networking, this.opts.mcpHosts, host, port);
    if (!d.allowed) throw this.refuse(host, port, d.reason!);
    const bare = host.replace(/^\[|\]$/g, '');
    let address = bare;
    if (!net.isIP(bare)) {
      try {
        address = (await dns.lookup(bare)).address;
      } catch {
        throw new EgressRefused(`could not resolve ${host}`);
      }
    }
    const bad = checkAddress(address, port, d.explicit, this.opts.serverPort());
    if (bad) throw this.refuse(host, port, bad);
    return address;
  }

  private refuse(host: string, port: number, reason: string): EgressRefused {
    const denial = { at: new Date().toISOString(), host, port, reason };
    this.refused.push(denial);
    if (this.refused.length > 1000) this.refused.shift();
    this.opts.log.warn({ session_id: this.opts.sessionId, host, port, reason }, 'sandbox egress refused');
    return new EgressRefused(`network egress to ${host}:${port} refused: ${reason}`);
  }

  /** Refusals since the last call (each is reported once, with the tool call that caused it). */
  takeDenials(): EgressDenial[] {
    return this.refused.splice(0);
  }
}
