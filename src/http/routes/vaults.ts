import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AppContext } from '../../context.js';
import { listById } from '../list.js';
import { ArchivedListQuery, Deleted, Page, Params, Responds } from '../schemas/common.js';
import { Vault, VaultCreate, VaultUpdate } from '../schemas/vaults.js';

const params = Params('vault_id');

export function vaultRoutes(fastify: FastifyInstance, ctx: AppContext): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['vaults'];
  app.post('/v1/vaults', { schema: { tags, body: VaultCreate, response: Responds(Vault) } }, async (req) => ctx.vaults.create(req.body));
  app.get('/v1/vaults/:vault_id', { schema: { tags, params, response: Responds(Vault) } }, async (req) => ctx.vaults.get(req.params.vault_id));
  app.post('/v1/vaults/:vault_id', { schema: { tags, params, body: VaultUpdate, response: Responds(Vault) } }, async (req) =>
    ctx.vaults.update(req.params.vault_id, req.body),
  );
  app.delete('/v1/vaults/:vault_id', { schema: { tags, params, response: Responds(Deleted('vault_deleted')) } }, async (req) =>
    ctx.vaults.delete(req.params.vault_id),
  );
  app.post('/v1/vaults/:vault_id/archive', { schema: { tags, params, response: Responds(Vault) } }, async (req) => ctx.vaults.archive(req.params.vault_id));
  app.get('/v1/vaults', { schema: { tags, querystring: ArchivedListQuery, response: Responds(Page(Vault)) } }, async (req) =>
    listById(req.query, { order: 'desc' }, (f) => ctx.vaults.list({ ...f, includeArchived: req.query.include_archived ?? false })),
  );
}
