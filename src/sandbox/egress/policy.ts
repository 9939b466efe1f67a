import type { Networking } from '../../domain/environments.js';
import { describe, isThisHost, type Classified } from '../../net/address.js';
import { canonicalHost } from '../../net/resolve.js';

/**
 * Which hosts a session's sandbox may reach: the environment's `networking`, decided outside the
 * sandbox (in the egress proxy and in web_fetch).
 */

/** Registries `allow_package_managers` opens (apt, cargo, gem, go, npm, pip and their CDNs). */
export const PACKAGE_MANAGER_HOSTS = [
  'deb.debian.org',
  'security.debian.org',
  '*.ubuntu.com',
  'pypi.org',
  'files.pythonhosted.org',
  'registry.npmjs.org',
  'registry.yarnpkg.com',
  'crates.io',
  'static.crates.io',
  'index.crates.io',
  'rubygems.org',
  'index.rubygems.org',
  'proxy.golang.org',
  'sum.golang.org',
  'storage.googleapis.com',
];

export interface Decision {
  allowed: boolean;
  /** The host was named exactly in `allowed_hosts` (not by a wildcard or `unrestricted`). */
  explicit: boolean;
  reason?: string;
}

/** A pattern is `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address; `*.` makes a wildcard. */
function splitPattern(pattern: string): { host: string; port?: number } {
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(pattern);
  return m ? { host: m[1], port: m[2] ? Number(m[2]) : undefined } : { host: pattern };
}

/** The canonical form, or undefined for what is not a host (such a pattern matches nothing). */
function canonicalOrNone(host: string): string | undefined {
  try {
    return canonicalHost(host);
  } catch {
    return undefined;
  }
}

/** Whether a pattern (`host`, `host:port`, `*.domain`) names a canonical host and port. */
export function matchHost(pattern: string, host: string, port: number): boolean {
  return matches(pattern, host, port) !== undefined;
}

function matches(pattern: string, host: string, port: number): 'exact' | 'wildcard' | undefined {
  const p = splitPattern(pattern.toLowerCase());
  if (p.port !== undefined && p.port !== port) return undefined;
  if (p.host.startsWith('*.')) return host.endsWith(p.host.slice(1)) ? 'wildcard' : undefined;
  // Compared canonically: `127.1` and `[::ffff:127.0.0.1]` name the hosts they spell.
  return canonicalOrNone(p.host) === host ? 'exact' : undefined;
}

/** Decides on a host (canonical: src/net/resolve.ts `canonicalHost`), before it is resolved. */
export function decide(networking: Networking, mcpHosts: string[], host: string, port: number): Decision {
  if (networking.type === 'unrestricted') return { allowed: true, explicit: false };
  for (const h of networking.allowed_hosts) {
    const m = matches(h, host, port);
    if (m) return { allowed: true, explicit: m === 'exact' };
  }
  if (networking.allow_package_managers && PACKAGE_MANAGER_HOSTS.some((h) => matches(h, host, port))) return { allowed: true, explicit: false };
  if (networking.allow_mcp_servers && mcpHosts.some((h) => canonicalOrNone(h) === host)) return { allowed: true, explicit: false };
  return { allowed: false, explicit: false, reason: `${host} is not in the environment's allowed_hosts` };
}

/**
 * Only global unicast addresses are reachable, unless the host was named exactly in
 * `allowed_hosts`; Paddock's own port on this host (loopback, unspecified or any interface
 * address) never is. Decided on the classified address (src/net/address.ts), not its spelling.
 */
export function checkAddress(c: Classified, port: number, explicit: boolean, serverPort: number): string | undefined {
  if (isThisHost(c) && port === serverPort) return `${c.address}:${port} is the Paddock server itself`;
  if (explicit || c.class === 'global') return undefined;
  return `${describe(c)} (list the host in allowed_hosts to reach it)`;
}

/**
 * Whether any host a credential pattern (`host` or `*.domain`, no port) names could be reached
 * under the environment's networking, on some port: what `credential_host_unreachable_error`
 * reports when it is not.
 */
export function reachable(networking: Networking, mcpHosts: string[], pattern: string): boolean {
  if (networking.type === 'unrestricted') return true;
  const cred = splitPattern(pattern.toLowerCase()).host;
  const patterns = [
    ...networking.allowed_hosts,
    ...(networking.allow_package_managers ? PACKAGE_MANAGER_HOSTS : []),
    ...(networking.allow_mcp_servers ? mcpHosts : []),
  ].map((p) => splitPattern(p.toLowerCase()).host);
  const name = (h: string) => (h.startsWith('*.') ? h : (canonicalOrNone(h) ?? h));
  const c = name(cred);
  return patterns.some((raw) => {
    const p = name(raw);
    if (!p.startsWith('*.') && !c.startsWith('*.')) return p === c;
    if (p.startsWith('*.') && !c.startsWith('*.')) return c.endsWith(p.slice(1));
    if (!p.startsWith('*.') && c.startsWith('*.')) return p.endsWith(c.slice(1));
    return c.endsWith(p.slice(1)) || p.endsWith(c.slice(1));
  });
}
