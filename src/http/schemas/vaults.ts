import { Type } from '@sinclair/typebox';
import { optionalBody } from '../validation.js';
import { Metadata, MetadataPatch, Nullable, Opt, Str, Times } from './common.js';

/** Vaults (wire-contract §8); their credentials are in credentials.ts. */

export const VaultCreate = Type.Object({ display_name: Str(255, 1), metadata: Opt(Metadata) });

// display_name is required on a vault, so null means "leave it".
export const VaultUpdate = optionalBody(Type.Object({ display_name: Opt(Str(255, 1)), metadata: Opt(MetadataPatch) }));

export const Vault = Type.Object({
  type: Type.Literal('vault'),
  id: Type.String(),
  display_name: Type.String(),
  metadata: Type.Record(Type.String(), Type.String()),
  ...Times,
  archived_at: Nullable(Type.String()),
});
