import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AppContext } from '../../../context.js';
import { listById } from '../../list.js';
import { Deleted, Page, Params, Responds } from '../../schemas/common.js';
import { Credential, CredentialCreate, CredentialListQuery, CredentialUpdate, CredentialValidation } from '../../schemas/credentials.js';

/** `/v1/vaults/{id}/credentials…`. Secrets go in and are never sent back (src/domain/credentials.ts). */
export function vaultCredentialRoutes(fastify: FastifyInstance, ctx: AppContext): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['vault credentials'];
  const base = '/v1/vaults/:vault_id/credentials';
  const vaultParams = Params('vault_id');
  const params = Params('vault_id', 'credential_id');
  app.post(base, { schema: { tags, params: vaultParams, body: CredentialCreate, response: Responds(Credential) } }, async (req) =>
    ctx.credentials.create(req.params.vault_id, req.body),
  );
  app.get(base, { schema: { tags, params: vaultParams, querystring: CredentialListQuery, response: Responds(Page(Credential)) } }, async (req) =>
    listById(req.query, { order: 'desc' }, (f) => ctx.credentials.list(req.params.vault_id, { ...f, includeArchived: req.query.include_archived ?? false })),
  );
  app.get(`${base}/:credential_id`, { schema: { tags, params, response: Responds(Credential) } }, async (req) =>
    ctx.credentials.get(req.params.vault_id, req.params.credential_id),
  );
  app.post(`${base}/:credential_id`, { schema: { tags, params, body: CredentialUpdate, response: Responds(Credential) } }, async (req) =>
    ctx.credentials.update(req.params.vault_id, req.params.credential_id, req.body),
  );
  app.delete(`${base}/:credential_id`, { schema: { tags, params, response: Responds(Deleted('vault_credential_deleted')) } }, async (req) =>
    ctx.credentials.delete(req.params.vault_id, req.params.credential_id),
  );
  app.post(`${base}/:credential_id/archive`, { schema: { tags, params, response: Responds(Credential) } }, async (req) =>
    ctx.credentials.archive(req.params.vault_id, req.params.credential_id),
  );
  app.post(`${base}/:credential_id/mcp_oauth_validate`, { schema: { tags, params, response: Responds(CredentialValidation) } }, async (req) =>
    ctx.credentials.validate(req.params.vault_id, req.params.credential_id),
  );
}
