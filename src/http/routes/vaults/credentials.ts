import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../../context.js';
import { listById } from '../../list.js';
import { bool, type Query } from '../../query.js';

type VaultParams = { vault_id: string };
type IdParams = VaultParams & { credential_id: string };

/** `/v1/vaults/{id}/credentials…`. Secrets go in and are never sent back (src/domain/credentials.ts). */
export function vaultCredentialRoutes(app: FastifyInstance, ctx: AppContext): void {
  const base = '/v1/vaults/:vault_id/credentials';
  app.post<{ Params: VaultParams }>(base, async (req) => ctx.credentials.create(req.params.vault_id, req.body));
  app.get<{ Params: VaultParams }>(base, async (req) => {
    const q = req.query as Query;
    const includeArchived = bool(q, 'include_archived') ?? false;
    return listById(q, { order: 'desc' }, (f) => ctx.credentials.list(req.params.vault_id, { ...f, includeArchived }));
  });
  app.get<{ Params: IdParams }>(`${base}/:credential_id`, async (req) => ctx.credentials.get(req.params.vault_id, req.params.credential_id));
  app.post<{ Params: IdParams }>(`${base}/:credential_id`, async (req) =>
    ctx.credentials.update(req.params.vault_id, req.params.credential_id, req.body ?? {}),
  );
  app.delete<{ Params: IdParams }>(`${base}/:credential_id`, async (req) => ctx.credentials.delete(req.params.vault_id, req.params.credential_id));
  app.post<{ Params: IdParams }>(`${base}/:credential_id/archive`, async (req) =>
    ctx.credentials.archive(req.params.vault_id, req.params.credential_id),
  );
  app.post<{ Params: IdParams }>(`${base}/:credential_id/mcp_oauth_validate`, async (req) =>
    ctx.credentials.validate(req.params.vault_id, req.params.credential_id),
  );
}
