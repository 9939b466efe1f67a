import { createHash } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import { canonicalHost } from '../../net/resolve.js';
import { matchHost } from './policy.js';
import { Substitution } from './substitute.js';

/**
 * What the egress proxy adds to a sandbox's requests on their way out: the secrets of the
 * session's `environment_variable` credentials in place of their placeholders, and repository
 * tokens as `Authorization`. Decided per request on the canonical destination (scheme, host,
 * port, normalised path); nothing is added anywhere else.
 */

const PLACEHOLDER_PREFIX = 'paddock-secret-';

/** The opaque value a sandbox sees in the credential's variable; stable for a session and credential. */
export function placeholderFor(sessionId: string, credentialId: string): string {
  return PLACEHOLDER_PREFIX + createHash('sha256').update(`paddock placeholder\0${sessionId}\0${credentialId}`).digest('hex').slice(0, 40);
}

export interface CredentialRule {
  credentialId: string;
  vaultId: string;
  placeholder: string;
  /** `allowed_hosts` patterns (bare host, IPv4 or `*.` wildcard), or any host. */
  hosts: string[] | 'any';
  header: boolean;
  body: boolean;
  /** The current secret (undefined once the credential is gone): read per request, so changes apply at once. */
  value(): Promise<string | undefined>;
}

export interface RepositoryRule {
  resourceId: string;
  protocol: 'http:' | 'https:';
  /** Canonical host and port of the repository URL. */
  host: string;
  port: number;
  /** `/owner/repo` (no `.git`, no trailing slash): requests under it carry the token. */
  path: string;
  /** The current token (rotation applies to the next request). */
  token(): Promise<string | undefined>;
}

export interface Target {
  protocol: 'http:' | 'https:';
  /** Canonical. */
  host: string;
  port: number;
  /** Normalised path and query, as it is sent. */
  path: string;
}

export interface Injected {
  headers: OutgoingHttpHeaders;
  /** Placeholders to replace in the body, if any apply. */
  body?: Substitution;
}

export function repositoryRule(resourceId: string, url: string, token: () => Promise<string | undefined>): RepositoryRule {
  const u = new URL(url);
  const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
  return {
    resourceId,
    protocol: u.protocol as 'http:' | 'https:',
    host: canonicalHost(u.hostname),
    port,
    path: u.pathname.replace(/\/+$/, '').replace(/\.git$/, ''),
    token,
  };
}

function underRepository(rule: RepositoryRule, path: string): boolean {
  const p = path.split('?', 1)[0];
  return [rule.path, `${rule.path}.git`].some((base) => p === base || p.startsWith(`${base}/`));
}

export class Injector {
  constructor(
    private readonly credentials: CredentialRule[],
    private readonly repositories: RepositoryRule[],
  ) {}

  get empty(): boolean {
    return this.credentials.length === 0 && this.repositories.length === 0;
  }

  private credentialsFor(host: string, port: number): CredentialRule[] {
    return this.credentials.filter((c) => c.hosts === 'any' || c.hosts.some((h) => matchHost(h, host, port)));
  }

  /** A CONNECT to host:port is opened up (TLS terminated) only when something may be added there. */
  intercepts(rawHost: string, port: number): boolean {
    let host: string;
    try {
      host = canonicalHost(rawHost);
    } catch {
      return false;
    }
    return this.credentialsFor(host, port).length > 0 || this.repositories.some((r) => r.protocol === 'https:' && r.host === host && r.port === port);
  }

  /** The request's headers with what applies to `target` added, and the body substitution. */
  async apply(target: Target, headers: OutgoingHttpHeaders): Promise<Injected> {
    const out: OutgoingHttpHeaders = { ...headers };
    let body: Substitution | undefined;
    const creds = this.credentialsFor(target.host, target.port);
    if (creds.length) {
      const inHeader = new Map<string, string>();
      const inBody = new Map<string, string>();
      for (const c of creds) {
        const value = await c.value();
        if (value === undefined) continue;
        if (c.header) inHeader.set(c.placeholder, value);
        if (c.body) inBody.set(c.placeholder, value);
      }
      if (inHeader.size) {
        const sub = new Substitution(PLACEHOLDER_PREFIX, inHeader);
        for (const [k, v] of Object.entries(out)) {
          if (typeof v === 'string') out[k] = sub.text(v);
          else if (Array.isArray(v)) out[k] = v.map((x) => sub.text(x));
        }
      }
      if (inBody.size) body = new Substitution(PLACEHOLDER_PREFIX, inBody);
    }
    for (const r of this.repositories) {
      if (r.protocol !== target.protocol || r.host !== target.host || r.port !== target.port || !underRepository(r, target.path)) continue;
      const token = await r.token();
      if (token === undefined) continue;
      // GitHub's form for tokens over git's smart HTTP: basic auth with this user name.
      out.authorization = `Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;
      break;
    }
    return { headers: out, body };
  }
}
