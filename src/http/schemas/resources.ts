import { Type } from '@sinclair/typebox';
import { Literals, Nullable, Opt, Str } from './common.js';

/** Session resources (wire-contract §6): given at session create or added later. */

const MountPath = Opt(
  Str(1024, 1, {
    'x-error': {
      type: 'must be an absolute path of 1-1024 characters',
      minLength: 'must be an absolute path of 1-1024 characters',
      maxLength: 'must be an absolute path of 1-1024 characters',
    },
  }),
);

/** Write-only: never shown again. */
const AuthorizationToken = Str(4096, 1, { 'x-error': 'must be a non-empty string of at most 4096 characters', writeOnly: true });

const BRANCH = '^(?!-)(?!.*\\.\\.)[^\\s~^:?*[\\\\\\x00-\\x1f]+$';

export const ResourceInput = Type.Union([
  Type.Object({ type: Type.Literal('file'), file_id: Type.String(), mount_path: MountPath }),
  Type.Object({
    type: Type.Literal('github_repository'),
    url: Type.String({ maxLength: 2048, 'x-error': 'must be a repository URL' }),
    mount_path: MountPath,
    checkout: Opt(
      Type.Union([
        Type.Object({ type: Type.Literal('branch'), name: Str(255, 1, { pattern: BRANCH, 'x-error': 'must be a git branch name' }) }),
        Type.Object({
          type: Type.Literal('commit'),
          sha: Type.String({ pattern: '^[0-9a-fA-F]{7,64}$', 'x-error': 'must be a commit sha (7-64 hex digits)' }),
        }),
      ]),
    ),
    authorization_token: Opt(AuthorizationToken),
  }),
  Type.Object({
    type: Type.Literal('memory_store'),
    memory_store_id: Type.String({ pattern: '^memstore_', 'x-error': 'must be a memory store id (memstore_…)' }),
    access: Opt(Literals(['read_write', 'read_only'])),
    instructions: Opt(Str(4096)),
  }),
]);

export const ResourceAdd = Type.Union(ResourceInput.anyOf, { 'x-root': 'body' });

export const ResourceUpdate = Type.Object(
  { authorization_token: AuthorizationToken },
  { additionalProperties: false, 'x-root': 'body', 'x-error': { additionalProperties: 'only authorization_token can be updated' } },
);

export const Resource = Type.Union([
  Type.Object({
    type: Type.Literal('file'),
    id: Type.String(),
    file_id: Type.String(),
    mount_path: Type.String(),
    created_at: Type.String(),
    updated_at: Type.String(),
  }),
  Type.Object({
    type: Type.Literal('github_repository'),
    id: Type.String(),
    url: Type.String(),
    mount_path: Type.String(),
    checkout: Nullable(Type.Object({ type: Literals(['branch', 'commit']) })),
    created_at: Type.String(),
    updated_at: Type.String(),
  }),
  Type.Object({
    type: Type.Literal('memory_store'),
    memory_store_id: Type.String(),
    access: Literals(['read_write', 'read_only']),
    instructions: Nullable(Type.String()),
  }),
]);
