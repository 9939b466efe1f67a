import { Type } from '@sinclair/typebox';
import { PACKAGE_MANAGERS } from '../../domain/environments.js';
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

const PackageList = Type.Array(Str(256, 1), { maxItems: 500, 'x-error': 'must be a list of at most 500 package names' });

// One key per manager in PACKAGE_MANAGERS (the domain reads each by name, so a missing one fails the build).
const Packages = Type.Object({
  type: Type.Optional(Type.Literal('packages')),
  apt: Opt(PackageList),
  cargo: Opt(PackageList),
  gem: Opt(PackageList),
  go: Opt(PackageList),
  npm: Opt(PackageList),
  pip: Opt(PackageList),
});

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
