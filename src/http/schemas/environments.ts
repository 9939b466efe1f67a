import { Type } from '@sinclair/typebox';
import { entryError, MAX_PACKAGE_ENTRY, PACKAGE_MANAGERS, PACKAGE_PATTERNS, UNSUPPORTED_MANAGERS, type PackageManager } from '../../domain/packages.js';
import { optionalBody } from '../validation.js';
import { ArchivedListQuery, Literals, Metadata, MetadataPatch, Nullable, Opt, Str, Times } from './common.js';

/** Environments (wire-contract §3). */

const HOST = '^(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:[0-9]{1,5})?$';

const Networking = Type.Union([
  Type.Object({ type: Type.Literal('unrestricted') }),
  Type.Object({
    type: Type.Literal('limited'),
    allowed_hosts: Opt(
      Type.Array(Type.String({ pattern: HOST, 'x-error': 'must be a host name, IP address or *.wildcard' }), {
        maxItems: 256,
        'x-error': 'must be a list of at most 256 hosts',
      }),
    ),
    allow_mcp_servers: Opt(Type.Boolean()),
    allow_package_managers: Opt(Type.Boolean()),
  }),
]);

/** One manager's list: each entry a name with the manager's own version syntax (src/domain/packages.ts). */
const PackageList = (m: PackageManager) =>
  Type.Array(Str(MAX_PACKAGE_ENTRY, 1, { pattern: PACKAGE_PATTERNS[m].re.source, 'x-error': { pattern: entryError(m) } }), {
    // A manager this server cannot install from takes no entries, and says why.
    maxItems: UNSUPPORTED_MANAGERS[m] ? 0 : 500,
    'x-error': { type: 'must be a list of at most 500 package names', maxItems: UNSUPPORTED_MANAGERS[m] ?? 'must be a list of at most 500 package names' },
  });

// One key per manager in PACKAGE_MANAGERS (the domain reads each by name, so a missing one fails the build).
const Packages = Type.Object(
  {
    type: Type.Optional(Type.Literal('packages')),
    apt: Opt(PackageList('apt')),
    cargo: Opt(PackageList('cargo')),
    gem: Opt(PackageList('gem')),
    go: Opt(PackageList('go')),
    npm: Opt(PackageList('npm')),
    pip: Opt(PackageList('pip')),
  },
  { additionalProperties: false, 'x-error': { additionalProperties: `unknown package manager; expected one of ${PACKAGE_MANAGERS.join(', ')}` } },
);

const Config = Type.Union([
  Type.Object({ type: Type.Literal('cloud'), networking: Opt(Networking), packages: Opt(Packages) }),
  Type.Object({ type: Type.Literal('self_hosted') }),
]);

const Scope = Literals(['organization', 'account']);

export const EnvironmentCreate = Type.Object({
  name: Str(256, 1),
  description: Opt(Str(2048)),
  config: Opt(Config),
  scope: Opt(Scope),
  metadata: Opt(Metadata),
});

export const EnvironmentUpdate = optionalBody(
  Type.Object({
    // null leaves the name as it is.
    name: Opt(Str(256, 1)),
    description: Opt(Str(2048)),
    config: Opt(Config),
    scope: Opt(Scope),
    metadata: Opt(MetadataPatch),
  }),
);

export const EnvironmentListQuery = ArchivedListQuery;

const StringList = Type.Array(Type.String());
export const Environment = Type.Object({
  type: Type.Literal('environment'),
  id: Type.String(),
  name: Type.String(),
  description: Nullable(Type.String()),
  metadata: Type.Record(Type.String(), Type.String()),
  config: Type.Union([
    Type.Object({
      type: Type.Literal('cloud'),
      networking: Type.Union([
        Type.Object({ type: Type.Literal('unrestricted') }),
        Type.Object({
          type: Type.Literal('limited'),
          allowed_hosts: StringList,
          allow_mcp_servers: Type.Boolean(),
          allow_package_managers: Type.Boolean(),
        }),
      ]),
      packages: Type.Object({ type: Type.Literal('packages'), ...Object.fromEntries(PACKAGE_MANAGERS.map((m) => [m, StringList])) }),
    }),
    Type.Object({ type: Type.Literal('self_hosted') }),
  ]),
  scope: Scope,
  ...Times,
  archived_at: Nullable(Type.String()),
});
