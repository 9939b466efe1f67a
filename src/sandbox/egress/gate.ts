import type net from 'node:net';
import type { Logger } from 'pino';
import type { Networking } from '../../domain/environments.js';
import { tcpConnect, type Connector } from '../../net/connect.js';
import { canonicalHost, HostError, pickAddress } from '../../net/resolve.js';
import { checkAddress, decide } from './policy.js';
import { messageOf } from '../../error-info.js';

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
    private readonly opts: {
      sessionId: string;
      networking: Networking;
      mcpHosts: string[];
      serverPort: () => number;
      log: Logger;
      /** How a checked address is connected to (tests watch it). */
      connect?: Connector;
    },
  ) {}

  /** Checks host and port, then connects to the address that was checked (nothing is looked up twice). */
  async connect(host: string, port: number, signal?: AbortSignal): Promise<net.Socket> {
    const address = await this.check(host, port);
    return (this.opts.connect ?? tcpConnect)(address, port, signal);
  }

  private async check(rawHost: string, port: number): Promise<string> {
    let host: string;
    try {
      host = canonicalHost(rawHost);
    } catch (err) {
      throw this.refuse(rawHost, port, messageOf(err));
    }
    const d = decide(this.opts.networking, this.opts.mcpHosts, host, port);
    if (!d.allowed) throw this.refuse(host, port, d.reason!);
    let picked: Awaited<ReturnType<typeof pickAddress>>;
    try {
      picked = await pickAddress(host, (c) => checkAddress(c, port, d.explicit, this.opts.serverPort()));
    } catch (err) {
      if (err instanceof HostError) throw new EgressRefused(err.message);
      throw err;
    }
    if ('refused' in picked) throw this.refuse(host, port, picked.refused);
    return picked.address;
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
