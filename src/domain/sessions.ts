import type { BetaManagedAgentsSessionResource } from '@anthropic-ai/sdk/resources/beta/sessions/resources';
import type {
  BetaManagedAgentsDeletedSession,
  BetaManagedAgentsSession,
  BetaManagedAgentsSessionAgent,
} from '@anthropic-ai/sdk/resources/beta/sessions/sessions';
import { keyset } from '../store/keyset.js';
import { sql, type Kysely } from 'kysely';
import { readJson } from '../store/json.js';
import type { SessionBus } from '../fanout/bus.js';
import type { Database } from '../store/schema.js';
import type { Static } from '@sinclair/typebox';
import type { SendEvents } from '../http/schemas/events.js';
import type { SessionCreate, SessionUpdate } from '../http/schemas/sessions.js';
import { checkMcpReferences, mapAgentRefs, resolveMcpServers, resolveModel, resolveSkills, resolveTools } from './agent-config.js';
import type { Agent, Agents } from './agents.js';
import type { Environments } from './environments.js';
import { ApiError, invalid, notFound } from './errors.js';
import { clientEvents } from './event-params.js';
import type { EventLog, SessionEvent } from './event-log.js';
import { hasPrefix, newId } from './ids.js';
import { nowIso } from './time.js';
import { createMetadata, isOneOf, patchMetadata } from './validate.js';

export type SessionStatus = 'idle' | 'running' | 'rescheduling' | 'terminated';

/** An agent version without its record-keeping fields: what a session freezes of it. */
type AgentSnapshot = Omit<Agent, 'created_at' | 'updated_at' | 'archived_at' | 'metadata'>;

/** The agent as the session froze it at creation, its multiagent roster expanded into thread agents. */
export type SessionAgent = BetaManagedAgentsSessionAgent;

export interface SessionUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation: { ephemeral_1h_input_tokens: number; ephemeral_5m_input_tokens: number };
  server_tool_use?: { web_fetch_requests: number; web_search_requests: number } | null;
}

/** A session as the SDK declares it, with the fields Paddock always sets made required. */
export interface Session extends BetaManagedAgentsSession {
  status: SessionStatus;
  deployment_id: string | null;
  stats: { active_seconds: number; duration_seconds: number };
  usage: SessionUsage;
}

export interface SessionListQuery {
  agentId?: string;
  agentVersion?: number;
  deploymentId?: string;
  memoryStoreId?: string;
  includeArchived: boolean;
  statuses?: string[];
  created: { gt?: string; gte?: string; lt?: string; lte?: string };
  after?: string;
  before?: string;
  direction: 'asc' | 'desc';
  limit: number;
}

/** Hooks other parts of Paddock attach to sessions (the runtime, resources, sandboxes). */
export interface SessionHooks {
  /** Client events were appended: something may now be owed. */
  wake(sessionId: string): void;
  /** The session is going away (archive or delete): stop work, release sandboxes. */
  retire(sessionId: string, reason: 'archived' | 'deleted'): Promise<void>;
}

/** Request bodies, as checked at the route edge (src/http/schemas/sessions.ts, events.ts). */
export type SessionCreateInput = Static<typeof SessionCreate>;
export type SessionUpdateInput = Static<typeof SessionUpdate>;
export type SendEventsInput = Static<typeof SendEvents>;

const SESSION_STATUSES: readonly SessionStatus[] = ['idle', 'running', 'rescheduling', 'terminated'];

function snapshot(a: Agent): AgentSnapshot {
  const { created_at, updated_at, archived_at, metadata, ...rest } = a;
  return rest;
}

const EMPTY_USAGE: SessionUsage = {
  input_tokens: 0,
  output_tokens: 0,
  cache_read_input_tokens: 0,
  cache_creation: { ephemeral_1h_input_tokens: 0, ephemeral_5m_input_tokens: 0 },
};

export class Sessions {
  hooks: SessionHooks = { wake: () => {}, retire: async () => {} };
  /** Resource handling (mounts, files, repositories) is plugged in by the resources module. */
  resolveResources: (input: SessionCreateInput['resources'], sessionId: string) => Promise<BetaManagedAgentsSessionResource[]> = async (input) => {
    if (input === undefined || input === null) return [];
    throw invalid('resources: this server has no resource support');
  };
  checkVaults: (ids: string[]) => Promise<void> = async () => {};

  constructor(
    private readonly db: Kysely<Database>,
    private readonly log: EventLog,
    private readonly bus: SessionBus,
    private readonly agents: Agents,
    private readonly environments: Environments,
  ) {}

  /** The snapshot names each agent of its multiagent config as a full thread-agent snapshot (SessionMultiagent). */
  private async withThreadAgents(a: AgentSnapshot): Promise<SessionAgent> {
    const multiagent = await mapAgentRefs(a.multiagent, async (ref) => {
      const { multiagent: _, ...thread } = snapshot(await this.agents.get(ref.id, ref.version));
      return thread;
    });
    return { ...a, multiagent };
  }

  private async resolveAgent(input: SessionCreateInput['agent']): Promise<AgentSnapshot> {
    if (typeof input === 'string') {
      const a = await this.agents.get(input);
      return snapshot(checkLive(a));
    }
    const version = input.version === undefined || input.version === null ? undefined : Number(input.version);
    const base = snapshot(checkLive(await this.agents.get(input.id, version)));
    if (input.type === 'agent') return base;
    // agent_with_overrides: an omitted field keeps the agent's, a given one replaces it, null clears it.
    const out = { ...base };
    if (input.model !== undefined) {
      if (input.model === null) throw invalid('agent.model: cannot be cleared');
      out.model = resolveModel(input.model);
    }
    if (input.system !== undefined) out.system = input.system;
    if (input.tools !== undefined) out.tools = resolveTools(input.tools, 'agent.tools');
    if (input.mcp_servers !== undefined) out.mcp_servers = resolveMcpServers(input.mcp_servers, 'agent.mcp_servers');
    if (input.skills !== undefined) out.skills = resolveSkills(input.skills, 'agent.skills');
    checkMcpReferences(out.tools, out.mcp_servers, 'agent.tools');
    return out;
  }

  async create(input: SessionCreateInput): Promise<{ session: Session; events: SessionEvent[] }> {
    const agent = await this.withThreadAgents(await this.resolveAgent(input.agent));
    const env = await this.environments.get(input.environment_id);
    if (env.archived_at) {
      throw new ApiError(400, 'invalid_request_error', `Environment ${env.id} is archived`, { error_code: 'environment_archived' });
    }
    const vaultIds = input.vault_ids ?? [];
    await this.checkVaults(vaultIds);
    const initial = clientEvents(input.initial_events ?? [], 'initial_events');
    // Not in the schema: budgets are refused with the API's own error code.
    const budget = 'budget' in input ? input.budget : undefined;
    if (budget !== undefined && budget !== null) {
      throw new ApiError(400, 'invalid_request_error', 'budget: this server does not price models, so budgets are not supported', {
        error_code: 'model_not_budgetable',
      });
    }
    const now = nowIso();
    const id = newId('session');
    const session: Session = {
      type: 'session',
      id,
      title: input.title ?? null,
      status: 'idle',
      agent,
      environment_id: env.id,
      metadata: createMetadata(input.metadata),
      vault_ids: vaultIds,
      resources: await this.resolveResources(input.resources, id),
      deployment_id: null,
      budget: null,
      outcome_evaluations: [],
      stats: { active_seconds: 0, duration_seconds: 0 },
      usage: structuredClone(EMPTY_USAGE),
      created_at: now,
      updated_at: now,
      archived_at: null,
    } satisfies BetaManagedAgentsSession;
    await this.db
      .insertInto('sessions')
      .values({
        id,
        status: 'idle',
        agent_id: agent.id,
        agent_version: agent.version,
        environment_id: env.id,
        deployment_id: null,
        last_seq: 0,
        created_at: now,
        updated_at: now,
        archived_at: null,
        data: JSON.stringify(session),
      })
      .execute();
    const events = initial.length ? await this.log.append(id, initial) : [];
    if (events.length) this.hooks.wake(id);
    return { session, events };
  }

  async get(id: string): Promise<Session> {
    if (!hasPrefix(id, 'session')) throw notFound('Session', id);
    const row = await this.db.selectFrom('sessions').select(['data', 'status', 'updated_at', 'archived_at']).where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound('Session', id);
    return this.fromRow(row);
  }

  private fromRow(row: { data: string; status: string; updated_at: string; archived_at: string | null }): Session {
    const s = readJson<Session>(row.data);
    s.status = isOneOf(SESSION_STATUSES, row.status) ? row.status : s.status;
    s.updated_at = row.updated_at;
    s.archived_at = row.archived_at;
    s.stats.duration_seconds = Math.max(0, (Date.now() - Date.parse(s.created_at)) / 1000);
    return s;
  }

  /**
   * Rewrites the stored session object; `fn` gets the current one and returns the next. Several
   * writers change different parts of it (the HTTP update, the runner's usage totals, resource
   * changes), on one node or many: the read, `fn` and the write happen in one transaction under
   * the session row's write lock, so none of them writes back a copy that misses another's change.
   * `fn` runs inside that transaction: anything it reads must go through `trx` (SQLite has one
   * connection, which the transaction holds; a query beside it would wait forever).
   */
  async patch(id: string, fn: (s: Session, trx: Kysely<Database>) => Session | Promise<Session>): Promise<Session> {
    if (!hasPrefix(id, 'session')) throw notFound('Session', id);
    return this.db.transaction().execute(async (trx) => {
      const now = nowIso();
      // Writing first takes the row lock before the read (Postgres), and starts the transaction
      // as a writer (SQLite), as EventLog.append does; a concurrent patch waits here.
      const row = await trx
        .updateTable('sessions')
        .set({ updated_at: now })
        .where('id', '=', id)
        .returning(['data', 'status', 'updated_at', 'archived_at'])
        .executeTakeFirst();
      if (!row) throw notFound('Session', id);
      const next = await fn(this.fromRow(row), trx);
      next.updated_at = now;
      await trx.updateTable('sessions').set({ data: JSON.stringify(next) }).where('id', '=', id).execute();
      return { ...next, status: row.status as SessionStatus };
    });
  }

  async update(id: string, input: SessionUpdateInput): Promise<Session> {
    const cur = await this.get(id);
    if (cur.archived_at) throw new ApiError(409, 'conflict_error', `Session ${id} is archived`);
    // Not in the schema (they cannot be updated), refused with the API's own messages.
    const vault_ids = 'vault_ids' in input ? input.vault_ids : undefined;
    const budget = 'budget' in input ? input.budget : undefined;
    if (vault_ids !== undefined) throw invalid('vault_ids: cannot be changed after a session is created');
    if (budget !== undefined && budget !== null) {
      throw new ApiError(400, 'invalid_request_error', 'budget: can only be set when the session is created', { error_code: 'budget_create_only' });
    }
    const changed: Record<string, unknown> = {};
    const next = await this.patch(id, (s) => {
      if (input.title !== undefined) {
        s.title = input.title;
        changed.title = s.title;
      }
      if (input.metadata !== undefined) {
        s.metadata = patchMetadata(s.metadata, input.metadata);
        changed.metadata = s.metadata;
      }
      if (input.agent !== undefined && input.agent !== null) {
        // Read inside the row lock: a turn that started since the caller looked must refuse this.
        if (s.status === 'running') throw new ApiError(409, 'conflict_error', `Session ${id} is running; update its agent while it is idle`);
        const a = { ...s.agent };
        if (input.agent.tools !== undefined) a.tools = resolveTools(input.agent.tools, 'agent.tools');
        if (input.agent.mcp_servers !== undefined) a.mcp_servers = resolveMcpServers(input.agent.mcp_servers, 'agent.mcp_servers');
        checkMcpReferences(a.tools, a.mcp_servers, 'agent.tools');
        s.agent = a;
        changed.agent = a;
      }
      return s;
    });
    if (Object.keys(changed).length) await this.log.append(id, [{ type: 'session.updated', ...changed }]);
    return next;
  }

  async archive(id: string): Promise<Session> {
    const cur = await this.get(id);
    if (cur.archived_at) return cur;
    await this.hooks.retire(id, 'archived');
    const now = nowIso();
    await this.db.updateTable('sessions').set({ archived_at: now, updated_at: now }).where('id', '=', id).execute();
    return this.get(id);
  }

  async delete(id: string): Promise<BetaManagedAgentsDeletedSession> {
    await this.get(id);
    await this.hooks.retire(id, 'deleted');
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('events').where('session_id', '=', id).execute();
      await trx.deleteFrom('sessions').where('id', '=', id).execute();
    });
    this.bus.deleted(id);
    return { id, type: 'session_deleted' };
  }

  async list(q: SessionListQuery): Promise<Session[]> {
    let query = this.db.selectFrom('sessions').select(['data', 'status', 'updated_at', 'archived_at', 'id']);
    if (!q.includeArchived) query = query.where('archived_at', 'is', null);
    if (q.agentId) query = query.where('agent_id', '=', q.agentId);
    if (q.agentVersion !== undefined) query = query.where('agent_version', '=', q.agentVersion);
    if (q.deploymentId) query = query.where('deployment_id', '=', q.deploymentId);
    if (q.memoryStoreId) {
      // The store id is matched literally inside the stored resources: % and _ must not act as wildcards.
      const literal = JSON.stringify(q.memoryStoreId).replace(/[\\%_]/g, (c) => `\\${c}`);
      query = query.where(sql<boolean>`data like ${`%"memory_store_id":${literal}%`} escape '\\'`);
    }
    if (q.statuses?.length) query = query.where('status', 'in', q.statuses);
    if (q.created.gt) query = query.where('created_at', '>', q.created.gt);
    if (q.created.gte) query = query.where('created_at', '>=', q.created.gte);
    if (q.created.lt) query = query.where('created_at', '<', q.created.lt);
    if (q.created.lte) query = query.where('created_at', '<=', q.created.lte);
    const rows = await keyset(query, 'id', q).execute();
    return rows.map((r) => this.fromRow(r));
  }

  /** The session's latest idle says `requires_action`: it waits on tool results or confirmations. */
  private async waitsForClient(id: string): Promise<boolean> {
    const [last] = await this.log.list(id, { types: ['session.status_idle'], order: 'desc', limit: 1 });
    return last?.event.type === 'session.status_idle' && last.event.stop_reason.type === 'requires_action';
  }

  /** Validates and appends client events, then wakes the runtime. */
  async sendEvents(id: string, body: SendEventsInput): Promise<SessionEvent[]> {
    const events = clientEvents(body.events);
    const s = await this.get(id);
    if (s.archived_at) throw new ApiError(409, 'conflict_error', `Session ${id} is archived and accepts no events`);
    if (s.status === 'terminated') throw new ApiError(409, 'conflict_error', `Session ${id} is terminated and accepts no events`);
    if (s.status === 'idle' && events.some((e) => e.type === 'system.message') && (await this.waitsForClient(id))) {
      throw invalid(
        `system.message cannot be sent while session ${id} is idle with stop_reason requires_action; send the user.custom_tool_result or user.tool_confirmation events it waits for first`,
      );
    }
    const stored = await this.log.append(id, events);
    this.hooks.wake(id);
    return stored;
  }
}

function checkLive(a: Agent): Agent {
  if (a.archived_at) throw invalid(`Agent ${a.id} is archived; sessions cannot use it`);
  return a;
}
