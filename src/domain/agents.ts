import type { BetaManagedAgentsAgent } from '@anthropic-ai/sdk/resources/beta/agents/agents';
import { keyset } from '../store/keyset.js';
import type { Kysely } from 'kysely';
import { readJson } from '../store/json.js';
import type { Database } from '../store/schema.js';
import {
  type AgentRefInput,
  checkMcpReferences,
  mapAgentRefs,
  type Multiagent,
  resolveExecutionIdentity,
  resolveMcpServers,
  resolveModel,
  resolveMultiagent,
  resolveSkills,
  resolveTools,
} from './agent-config.js';
import type { Static } from '@sinclair/typebox';
import type { AgentCreate, AgentUpdate } from '../http/schemas/agents.js';
import { ApiError, invalid, notFound } from './errors.js';
import { hasPrefix, newId } from './ids.js';
import { nowIso } from './time.js';
import { createMetadata, patchMetadata } from './validate.js';

/** An agent (one version of it) exactly as the SDK declares it. */
export type Agent = BetaManagedAgentsAgent;

/** Request bodies, as checked at the route edge (src/http/schemas/agents.ts). */
export type AgentCreateInput = Static<typeof AgentCreate>;
export type AgentUpdateInput = Static<typeof AgentUpdate>;

/** The parts of an agent a version is made of; two versions with equal parts are the same. */
function contentOf(a: Agent) {
  const { id, version, created_at, updated_at, archived_at, type, ...rest } = a;
  return JSON.stringify(rest);
}

export interface AgentListQuery {
  includeArchived: boolean;
  createdGte?: string;
  createdLte?: string;
  after?: string;
  before?: string;
  direction: 'asc' | 'desc';
  limit: number;
}

export class Agents {
  constructor(private readonly db: Kysely<Database>) {}

  async create(b: AgentCreateInput): Promise<Agent> {
    const tools = resolveTools(b.tools);
    const mcp_servers = resolveMcpServers(b.mcp_servers);
    checkMcpReferences(tools, mcp_servers);
    const now = nowIso();
    const id = newId('agent');
    const agent: Agent = {
      type: 'agent',
      id,
      version: 1,
      name: b.name,
      description: b.description ?? null,
      system: b.system ?? null,
      model: resolveModel(b.model),
      tools,
      mcp_servers,
      skills: resolveSkills(b.skills),
      multiagent: await this.pinMultiagent(resolveMultiagent(b.multiagent), { id, version: 1 }),
      execution_identity: resolveExecutionIdentity(b.execution_identity),
      metadata: createMetadata(b.metadata),
      created_at: now,
      updated_at: now,
      archived_at: null,
    };
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('agents').values({ id: agent.id, version: 1, created_at: now, updated_at: now, archived_at: null }).execute();
      await trx
        .insertInto('agent_versions')
        .values({ agent_id: agent.id, version: 1, created_at: now, data: JSON.stringify(agent) })
        .execute();
    });
    return agent;
  }

  /**
   * Pins every agent a multiagent config names to `{type:'agent', id, version}`, the SDK's
   * response form: no version means the latest, `self` the version being written.
   */
  private pinMultiagent(m: Multiagent<AgentRefInput> | null, self: { id: string; version: number }): Promise<Agent['multiagent']> {
    return mapAgentRefs(m, async (ref, field) => {
      if (ref.type === 'self' || ref.id === self.id)
        return { type: 'agent', id: self.id, version: ref.type === 'agent' ? (ref.version ?? self.version) : self.version };
      const a = await this.get(ref.id, ref.version).catch((err: unknown) => {
        throw err instanceof ApiError && err.status === 404 ? invalid(`${field}: ${err.message}`) : err;
      });
      return { type: 'agent', id: a.id, version: a.version };
    });
  }

  /** The agent at `version` (default: latest), with its current archive state. */
  async get(id: string, version?: number): Promise<Agent> {
    if (!hasPrefix(id, 'agent')) throw notFound('Agent', id);
    const head = await this.db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
    if (!head) throw notFound('Agent', id);
    const v = version ?? Number(head.version);
    // No version is that large, and Postgres would reject the comparison with its integer column.
    if (v > head.version) throw new ApiError(404, 'not_found_error', `Agent ${id} has no version ${v}`);
    const row = await this.db.selectFrom('agent_versions').select('data').where('agent_id', '=', id).where('version', '=', v).executeTakeFirst();
    if (!row) throw new ApiError(404, 'not_found_error', `Agent ${id} has no version ${v}`);
    return { ...readJson<Agent>(row.data), archived_at: head.archived_at };
  }

  async update(id: string, b: AgentUpdateInput): Promise<Agent> {
    const current = await this.get(id);
    if (current.archived_at) throw invalid(`Agent ${id} is archived and cannot be updated`);
    if (b.version !== undefined && b.version !== null) {
      const v = Number(b.version);
      if (v !== current.version) {
        throw new ApiError(409, 'conflict_error', `Agent ${id} is at version ${current.version}, not ${v}; fetch it and retry`);
      }
    }
    const next: Agent = { ...current };
    if (b.name !== undefined) {
      if (b.name === null) throw invalid('name: cannot be cleared');
      next.name = b.name;
    }
    if (b.model !== undefined) {
      if (b.model === null) throw invalid('model: cannot be cleared');
      next.model = resolveModel(b.model);
    }
    if (b.description !== undefined) next.description = b.description || null;
    if (b.system !== undefined) next.system = b.system || null;
    if (b.tools !== undefined) next.tools = resolveTools(b.tools);
    if (b.mcp_servers !== undefined) next.mcp_servers = resolveMcpServers(b.mcp_servers);
    if (b.tools !== undefined || b.mcp_servers !== undefined) checkMcpReferences(next.tools, next.mcp_servers);
    if (b.skills !== undefined) next.skills = resolveSkills(b.skills);
    if (b.multiagent !== undefined) next.multiagent = await this.pinMultiagent(resolveMultiagent(b.multiagent), { id, version: current.version + 1 });
    if (b.execution_identity !== undefined) next.execution_identity = resolveExecutionIdentity(b.execution_identity);
    if (b.metadata !== undefined) next.metadata = patchMetadata(current.metadata, b.metadata);
    if (contentOf(next) === contentOf(current)) return current;

    const now = nowIso();
    next.version = current.version + 1;
    next.updated_at = now;
    await this.db.transaction().execute(async (trx) => {
      // The version guard is re-checked in the write itself, so two racing updates cannot both win.
      const res = await trx
        .updateTable('agents')
        .set({ version: next.version, updated_at: now })
        .where('id', '=', id)
        .where('version', '=', current.version)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) throw new ApiError(409, 'conflict_error', `Agent ${id} was updated concurrently; fetch it and retry`);
      await trx
        .insertInto('agent_versions')
        .values({ agent_id: id, version: next.version, created_at: now, data: JSON.stringify(next) })
        .execute();
    });
    return next;
  }

  async archive(id: string): Promise<Agent> {
    const current = await this.get(id);
    if (current.archived_at) return current;
    const now = nowIso();
    await this.db.updateTable('agents').set({ archived_at: now, updated_at: now }).where('id', '=', id).execute();
    return { ...current, archived_at: now };
  }

  async list(q: AgentListQuery): Promise<Agent[]> {
    let query = this.db
      .selectFrom('agents')
      .innerJoin('agent_versions', (j) => j.onRef('agent_versions.agent_id', '=', 'agents.id').onRef('agent_versions.version', '=', 'agents.version'))
      .select(['agents.id', 'agents.archived_at', 'agent_versions.data']);
    if (!q.includeArchived) query = query.where('agents.archived_at', 'is', null);
    if (q.createdGte) query = query.where('agents.created_at', '>=', q.createdGte);
    if (q.createdLte) query = query.where('agents.created_at', '<=', q.createdLte);
    const rows = await keyset(query, 'agents.id', q).execute();
    return rows.map((r) => ({ ...readJson<Agent>(r.data), archived_at: r.archived_at }));
  }

  async versions(id: string, q: { after?: number; before?: number; direction: 'asc' | 'desc'; limit: number }): Promise<Agent[]> {
    const head = await this.get(id);
    const query = this.db.selectFrom('agent_versions').select('data').where('agent_id', '=', id);
    const rows = await keyset(query, 'version', q).execute();
    return rows.map((r) => ({ ...readJson<Agent>(r.data), archived_at: head.archived_at }));
  }
}
