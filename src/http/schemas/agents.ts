import { Type, type Static } from '@sinclair/typebox';
import { BUILTIN_TOOLS, EFFORTS } from '../../domain/agent-config.js';
import { ArchivedListQuery, HttpUrl, Literals, Metadata, MetadataPatch, Nullable, Opt, PageQuery, QueryInt, Str, Timestamp, Times } from './common.js';
import { optionalBody } from '../validation.js';

/** Agents (wire-contract §2) and the parts a session's agent override shares with them. */

const Effort = Literals(EFFORTS);

export const Model = Type.Union(
  [
    Type.String({ pattern: '\\S', 'x-error': 'must not be empty' }),
    Type.Object({
      // Older Go SDKs send `type: "model_config"`; it carries no meaning.
      type: Type.Optional(Type.Literal('model_config')),
      id: Str(256, 1),
      effort: Opt(Type.Union([Effort, Type.Object({ type: Effort })], { 'x-error': `must be one of ${EFFORTS.join(', ')}` })),
      inference_geo: Opt(Str(64)),
      speed: Opt(Literals(['standard', 'fast'])),
    }),
  ],
  { 'x-error': { type: 'must be a model id string or a model config object' } },
);

const Policy = Type.Union(
  (['always_allow', 'always_ask', 'auto'] as const).map((t) => Type.Object({ type: Type.Literal(t) })),
  { 'x-error': 'must be {type: always_allow | always_ask | auto}' },
);

const ToolDefaults = Type.Object({ enabled: Opt(Type.Boolean()), permission_policy: Opt(Policy) });

const Domains = Type.Array(Str(253, 1), { minItems: 1, maxItems: 64, 'x-error': 'must be a list of 1-64 domains' });

const ToolReference = Type.Object({ type: Type.Literal('tool_reference'), name: Str(128, 1) }, { 'x-error': { type: 'must be {type: tool_reference, name}' } });
const AllOrNone = [Literals(['all', 'none']), ...(['all', 'none'] as const).map((t) => Type.Object({ type: Type.Literal(t) }))];
const filterError = { 'x-error': { type: 'must be "all", "none" or a filter object' } };
/** A web_fetch URL source filter: all, none, or only/except a list of tools. */
const ToolFilter = Type.Union(
  [...AllOrNone, ...(['only', 'except'] as const).map((t) => Type.Object({ type: Type.Literal(t), tools: Type.Array(ToolReference) }))],
  filterError,
);
/** The URL source for user input has no tools to filter: all or none. */
const UserInputFilter = Type.Union(AllOrNone, filterError);

const BuiltinConfig = Type.Object({
  name: Literals(BUILTIN_TOOLS, { 'x-error': `must be one of ${BUILTIN_TOOLS.join(', ')}` }),
  type: Type.Optional(Type.String()),
  enabled: Opt(Type.Boolean()),
  permission_policy: Opt(Policy),
  // web_fetch and web_search only.
  allowed_domains: Type.Optional(Domains),
  blocked_domains: Type.Optional(Domains),
  // web_fetch only.
  url_sources: Opt(
    Type.Object({
      client_tool_results: Opt(ToolFilter),
      server_tool_results: Opt(ToolFilter),
      user_input: Opt(UserInputFilter),
    }),
  ),
  max_content_tokens: Opt(Type.Integer({ minimum: 1, 'x-error': 'must be a positive integer' })),
  // web_search only.
  user_location: Opt(
    Type.Object(
      { type: Type.Literal('approximate'), city: Opt(Str(255)), region: Opt(Str(255)), country: Opt(Str(255)), timezone: Opt(Str(255)) },
      { additionalProperties: true, 'x-error': { type: 'must be {type: approximate, …}' } },
    ),
  ),
});

export const AgentToolset = Type.Object({
  type: Type.Literal('agent_toolset_20260401'),
  default_config: Opt(ToolDefaults),
  configs: Type.Optional(Type.Array(BuiltinConfig)),
});

export const McpToolset = Type.Object({
  type: Type.Literal('mcp_toolset'),
  mcp_server_name: Str(255, 1),
  default_config: Opt(ToolDefaults),
  configs: Type.Optional(Type.Array(Type.Object({ name: Str(128, 1), enabled: Opt(Type.Boolean()), permission_policy: Opt(Policy) }))),
});

const JsonSchemaObject = 'must be a JSON schema with type "object"';
export const CustomTool = Type.Object({
  type: Type.Literal('custom'),
  name: Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$', 'x-error': { pattern: 'must be 1-128 characters of letters, digits, _ or -' } }),
  description: Str(10_000),
  input_schema: Type.Object(
    {
      type: Type.Literal('object', { 'x-error': JsonSchemaObject }),
      properties: Opt(Type.Record(Type.String(), Type.Unknown())),
      required: Opt(Type.Array(Type.String(), { 'x-error': 'must be a list of strings' })),
    },
    { 'x-error': JsonSchemaObject },
  ),
});

export const Tools = Type.Array(Type.Union([AgentToolset, McpToolset, CustomTool]));

export const McpServers = Type.Array(
  Type.Object({
    type: Type.Literal('url'),
    name: Str(255, 1),
    url: HttpUrl(2048, 'must be an absolute http(s) URL', { minLength: 1 }),
  }),
  { maxItems: 20, 'x-error': { maxItems: 'at most 20 MCP servers' } },
);

export const Skills = Type.Array(Type.Object({ type: Literals(['anthropic', 'custom']), skill_id: Str(128, 1), version: Opt(Str(64, 1)) }), {
  maxItems: 20,
  'x-error': { maxItems: 'at most 20 skills' },
});

const ExecutionIdentity = Type.Union([
  Type.Object({ type: Type.Literal('service_account') }),
  Type.Object({ type: Type.Literal('aws_role'), role_arn: Str(2048, 1) }),
]);

/** A positive version number; numeric strings are accepted as some clients send them. */
export const VersionInput = Type.Union([Type.Integer({ minimum: 1 }), Type.String({ pattern: '^0*[1-9][0-9]*$' })], {
  'x-error': 'must be a positive integer',
});

const agentRefs = [
  Str(128, 1),
  Type.Object({ type: Type.Literal('self') }),
  Type.Object({ type: Type.Literal('agent'), id: Str(128, 1), version: Opt(VersionInput) }),
] as const;
const agentRefError = { 'x-error': { type: 'must be an agent id or an agent reference object' } };
/** An agent named in a multiagent config: an id, `self`, or an agent reference. */
const AgentRef = Type.Union([...agentRefs], agentRefError);
/** A coordinator's roster entry: an agent, or an advisor model. */
const RosterEntry = Type.Union([...agentRefs, Type.Object({ type: Type.Literal('advisor'), model: Str(256, 1) })], agentRefError);

const Switch = Type.Union([Type.Object({ type: Type.Literal('enabled') }), Type.Object({ type: Type.Literal('disabled') })]);

const Delegation = Type.Union([
  Type.Object({ type: Type.Literal('disabled') }),
  Type.Object({
    type: Type.Literal('enabled'),
    inline_agents: Opt(Switch),
    predefined_agents: Opt(Type.Array(AgentRef, { maxItems: 20, 'x-error': 'must list at most 20 agents' })),
  }),
]);

const Multiagent = Type.Union([
  Type.Object({
    type: Type.Literal('coordinator'),
    agents: Type.Array(RosterEntry, { minItems: 1, maxItems: 20, 'x-error': 'must list 1-20 agents' }),
  }),
  Type.Object({
    type: Type.Literal('multiagent_20261001'),
    advisor: Opt(Type.Union([Type.Object({ type: Type.Literal('enabled'), model: Str(256, 1) }), Type.Object({ type: Type.Literal('disabled') })])),
    subagents: Opt(Delegation),
    workflows: Opt(Delegation),
  }),
]);

/** Types of checked input, for the domain (src/domain/agent-config.ts). */
export type ModelInput = Static<typeof Model>;
export type ToolInput = Static<typeof Tools>[number];
export type BuiltinConfigInput = Static<typeof BuiltinConfig>;
export type ToolDefaultsInput = Static<typeof ToolDefaults>;
export type ToolFilterInput = Static<typeof ToolFilter>;
export type UserInputFilterInput = Static<typeof UserInputFilter>;
export type McpServerInput = Static<typeof McpServers>[number];
export type SkillInput = Static<typeof Skills>[number];
export type ExecutionIdentityInput = Static<typeof ExecutionIdentity>;
export type MultiagentInput = Static<typeof Multiagent>;
export type AgentRefInputT = Static<typeof AgentRef>;
export type RosterEntryInput = Static<typeof RosterEntry>;
export type DelegationInput = Static<typeof Delegation>;

export const AGENT_LIMITS = { name: 256, description: 2048, system: 100_000 };

const agentParts = {
  description: Opt(Str(AGENT_LIMITS.description)),
  system: Opt(Str(AGENT_LIMITS.system)),
  tools: Opt(Tools),
  mcp_servers: Opt(McpServers),
  skills: Opt(Skills),
  multiagent: Opt(Multiagent),
  execution_identity: Opt(ExecutionIdentity),
};

export const AgentCreate = Type.Object({
  name: Str(AGENT_LIMITS.name, 1),
  model: Model,
  ...agentParts,
  metadata: Opt(Metadata),
});

export const AgentUpdate = optionalBody(
  Type.Object({
    /** The version the update is based on: a stale one is a 409. */
    version: Opt(Type.Union([Type.Integer(), Type.String({ pattern: '^[0-9]+$' })], { 'x-error': 'must be an integer' })),
    // Null is refused by the domain with "cannot be cleared".
    name: Opt(Str(AGENT_LIMITS.name, 1)),
    model: Opt(Model),
    ...agentParts,
    metadata: Opt(MetadataPatch),
  }),
);

export const AgentGetQuery = Type.Object({ version: Type.Optional(QueryInt(1)) });
export const AgentListQuery = Type.Object({
  include_archived: ArchivedListQuery.properties.include_archived,
  'created_at[gte]': Type.Optional(Timestamp),
  'created_at[lte]': Type.Optional(Timestamp),
  ...PageQuery(),
});

/** The agent as responses show it: fully resolved. */
export const Agent = Type.Object({
  type: Type.Literal('agent'),
  id: Type.String(),
  version: Type.Integer(),
  name: Type.String(),
  description: Nullable(Type.String()),
  system: Nullable(Type.String()),
  model: Type.Object({
    id: Type.String(),
    effort: Type.Optional(Type.Object({ type: Type.String() })),
    inference_geo: Type.Optional(Type.String()),
    speed: Type.Optional(Literals(['standard', 'fast'])),
  }),
  tools: Type.Array(Type.Object({ type: Type.String() })),
  mcp_servers: Type.Array(Type.Object({ type: Type.Literal('url'), name: Type.String(), url: Type.String() })),
  skills: Type.Array(Type.Object({ type: Literals(['anthropic', 'custom']), skill_id: Type.String(), version: Type.String() })),
  multiagent: Nullable(Type.Object({ type: Type.String() })),
  execution_identity: Type.Object({ type: Type.String() }),
  metadata: Type.Record(Type.String(), Type.String()),
  ...Times,
  archived_at: Nullable(Type.String()),
});
