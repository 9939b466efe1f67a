import type { Packages } from './environments.js';

/**
 * `config.packages` of a cloud environment: which package managers exist, and what one entry of
 * each may look like (the route schema checks entries against these patterns). An entry is later
 * handed to its package manager as one argument (never through a shell), but it is still held to
 * a strict pattern, so that nothing a package manager would read as an option, a URL, a path or a
 * file to include gets that far: only a name and the manager's own version syntax.
 */

export const PACKAGE_MANAGERS = ['apt', 'cargo', 'gem', 'go', 'npm', 'pip'] as const;
export type PackageManager = (typeof PACKAGE_MANAGERS)[number];

/** The longest entry (the schema's maxLength). */
export const MAX_PACKAGE_ENTRY = 256;

/** A pip version clause: an operator then a PEP 440 version (with `*` for prefix matches). */
const PIP_CLAUSE = String.raw`(?:===|==|~=|!=|<=|>=|<|>)[A-Za-z0-9][A-Za-z0-9.*+!_-]*`;
/** An npm version, range or dist-tag without spaces: `1.2.3`, `^1.2`, `>=2.0.0`, `1.x`, `latest`. */
const NPM_VERSION = String.raw`(?:[~^]|[<>]=?|=)?[A-Za-z0-9*][A-Za-z0-9.+*-]*`;

/** One entry per manager, as the manager's own command line spells a package and its version. */
export const PACKAGE_PATTERNS: Record<PackageManager, { re: RegExp; example: string }> = {
  // Debian: `name` or `name=version`.
  apt: { re: /^[a-z0-9][a-z0-9+.-]+(?:=[A-Za-z0-9.+~:-]+)?$/, example: 'jq or jq=1.6-2.1' },
  // `cargo install name@version`.
  cargo: { re: /^[A-Za-z0-9][A-Za-z0-9_-]*(?:@(?:[~^=]|[<>]=?)?[0-9][A-Za-z0-9.+*-]*)?$/, example: 'ripgrep or ripgrep@14.1.0' },
  // `gem install name:version`.
  gem: { re: /^[A-Za-z0-9][A-Za-z0-9._-]*(?::[0-9][A-Za-z0-9.]*)?$/, example: 'rake or rake:13.2.1' },
  // `go install module/path@version` (a module path starts with a domain name).
  go: {
    re: /^[a-z0-9][a-z0-9-]*(?:\.[a-z0-9][a-z0-9-]*)+(?:\/[A-Za-z0-9_~][A-Za-z0-9._~-]*)+(?:@[A-Za-z0-9][A-Za-z0-9._+-]*)?$/,
    example: 'golang.org/x/tools/cmd/goimports@v0.24.0',
  },
  // `npm install name@version`, scoped names included.
  npm: {
    re: new RegExp(String.raw`^(?:@[a-z0-9][a-z0-9._~-]*\/)?[A-Za-z0-9][A-Za-z0-9._~-]*(?:@${NPM_VERSION})?$`),
    example: 'is-number or @scope/name@^1.2.0',
  },
  // PEP 508 without URLs or markers: `name`, `name[extra]`, `name==1.0`, `name>=1,<2`.
  pip: {
    re: new RegExp(String.raw`^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?(?:\[[A-Za-z0-9._-]+(?:,[A-Za-z0-9._-]+)*\])?(?:${PIP_CLAUSE}(?:,${PIP_CLAUSE})*)?$`),
    example: 'six or six==1.16.0',
  },
};

/**
 * What this server cannot install, and why (the route schema refuses it when the environment is
 * written, rather than a session finding out later). The sandbox sees the host's /usr read-only
 * and runs unprivileged: there is no root and no package database to install system packages into.
 */
export const UNSUPPORTED_MANAGERS: Partial<Record<PackageManager, string>> = {
  apt: "apt packages are not supported by this Paddock server: sandboxes run unprivileged on the host's read-only /usr, so install system packages on the host (every sandbox sees them) and list only cargo, gem, go, npm or pip packages here",
};

export function emptyPackages(): Packages {
  return { type: 'packages', apt: [], cargo: [], gem: [], go: [], npm: [], pip: [] };
}

/** The 400 for an entry that fails its manager's pattern (no value quoted: the API never does). */
export function entryError(m: PackageManager): string {
  return `must be a ${m} package name with an optional version (e.g. ${PACKAGE_PATTERNS[m].example}); URLs, paths, options and spaces are not accepted`;
}

export function hasPackages(p: Packages | undefined): boolean {
  return !!p && PACKAGE_MANAGERS.some((m) => p[m].length > 0);
}

/** Entries that fail their pattern (for stored environments written before the patterns existed). */
export function invalidEntries(p: Packages): string[] {
  return PACKAGE_MANAGERS.flatMap((m) =>
    p[m].filter((e) => typeof e !== 'string' || e.length > MAX_PACKAGE_ENTRY || !PACKAGE_PATTERNS[m].re.test(e)).map((e) => `${m}: ${JSON.stringify(e)}`),
  );
}
