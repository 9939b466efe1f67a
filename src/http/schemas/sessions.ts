import { Type } from '@sinclair/typebox';
import { optionalBody } from '../validation.js';
import { Agent, McpServers, Model, Skills, Tools, VersionInput } from './agents.js';
import { Literals, Metadata, MetadataPatch, Nullable, Opt, Order, PageQuery, QueryBool, QueryInt, Str, Timestamp, Times } from './common.js';
import { EventList } from './events.js';
import { Resource, ResourceInput } from './resources.js';

/** Sessions (wire-contract §4). */

const AgentReference = Type.Union(
  [
    Type.String({ minLength: 1 }),
    Type.Object({ type: Type.Literal('agent'), id: Type.String(), version: Opt(VersionInput) }),
    Type.Object({
      type: Type.Literal('agent_with_overrides'),
      id: Type.String(),
      version: Opt(VersionInput),
      // An omitted field keeps the agent's, a given one replaces it, null clears it (the model cannot be cleared).
      model: Opt(Model),
      system: Opt(Str(100_000)),
      tools: Opt(Tools),
      mcp_servers: Opt(McpServers),
      skills: Opt(Skills),
    }),
  ],
  { 'x-error': { type: 'must be an agent id or an agent reference object' } },
);

export const SessionCreate = Type.Object({
  agent: AgentReference,
  environment_id: Type.String(),
  title: Opt(Str(500)),
  metadata: Opt(Metadata),
  vault_ids: Opt(Type.Array(Type.String(), { maxItems: 50, 'x-error': 'must be a list of at most 50 vault ids' })),
  resources: Opt(Type.Array(ResourceInput, { maxItems: 100, 'x-error': { maxItems: 'at most 100 resources' } })),
  initial_events: Opt(EventList(['user.message', 'user.define_outcome'], 50, 'at most 50 events')),
});

export const SessionUpdate = optionalBody(
  Type.Object({
    title: Opt(Str(500)),
    metadata: Opt(MetadataPatch),
    agent: Opt(Type.Object({ tools: Opt(Tools), mcp_servers: Opt(McpServers) })),
  }),
);

export const SESSION_STATUSES = ['rescheduling', 'running', 'idle', 'terminated'] as const;

export const SessionListQuery = Type.Object({
  order: Type.Optional(Order),
  agent_id: Type.Optional(Type.String()),
  agent_version: Type.Optional(QueryInt(1)),
  deployment_id: Type.Optional(Type.String()),
  memory_store_id: Type.Optional(Type.String()),
  include_archived: Type.Optional(QueryBool),
  statuses: Type.Optional(Type.Array(Literals(SESSION_STATUSES, { 'x-error': `must be among ${SESSION_STATUSES.join(', ')}` }))),
  'created_at[gt]': Type.Optional(Timestamp),
  'created_at[gte]': Type.Optional(Timestamp),
  'created_at[lt]': Type.Optional(Timestamp),
  'created_at[lte]': Type.Optional(Timestamp),
  ...PageQuery(),
});

const { created_at: _c, updated_at: _u, archived_at: _a, metadata: _m, ...agentSnapshot } = Agent.properties;

const Count = Type.Number({ minimum: 0 });
export const Session = Type.Object({
  type: Type.Literal('session'),
  id: Type.String(),
  title: Nullable(Type.String()),
  status: Literals(SESSION_STATUSES),
  agent: Type.Object(agentSnapshot),
  environment_id: Type.String(),
  metadata: Type.Record(Type.String(), Type.String()),
  vault_ids: Type.Array(Type.String()),
  resources: Type.Array(Resource),
  deployment_id: Nullable(Type.String()),
  budget: Nullable(Type.Object({})),
  outcome_evaluations: Type.Array(Type.Object({})),
  stats: Type.Object({ active_seconds: Count, duration_seconds: Count }),
  usage: Type.Object({
    input_tokens: Count,
    output_tokens: Count,
    cache_read_input_tokens: Count,
    cache_creation: Type.Object({ ephemeral_1h_input_tokens: Count, ephemeral_5m_input_tokens: Count }),
  }),
  ...Times,
  archived_at: Nullable(Type.String()),
});
