import type * as A from '@anthropic-ai/sdk/resources/beta/agents/agents';
import type {
  AgentRefInputT,
  BuiltinConfigInput,
  DelegationInput,
  ExecutionIdentityInput,
  McpServerInput,
  ModelInput,
  MultiagentInput,
  RosterEntryInput,
  SkillInput,
  ToolDefaultsInput,
  ToolFilterInput,
  ToolInput,
  UserInputFilterInput,
} from '../http/schemas/agents.js';
import { invalid } from './errors.js';
import { isOneOf } from './validate.js';

/**
 * Validation and resolution of the parts an agent (and a session's agent override) is made of:
 * model, tools, MCP servers, skills. Everything is returned in the fully resolved response form
 * the SDK types describe, so that stored agents never need resolving again.
 */

export const BUILTIN_TOOLS = ['bash', 'edit', 'read', 'write', 'glob', 'grep', 'web_fetch', 'web_search'] as const;
export type BuiltinToolName = (typeof BUILTIN_TOOLS)[number];

/** The parts of an agent, as the SDK's response types declare them. */
export type ModelConfig = A.BetaManagedAgentsModelConfig;
export type Tool = A.BetaManagedAgentsAgent['tools'][number];
export type BuiltinToolConfig = A.BetaManagedAgentsAgentToolConfig;
export type PermissionPolicy = A.BetaManagedAgentsAgentToolsetDefaultConfig['permission_policy'];
export type McpServer = A.BetaManagedAgentsMCPServerURLDefinition;
export type Skill = A.BetaManagedAgentsAgent['skills'][number];
export type ExecutionIdentity = A.BetaManagedAgentsExecutionIdentity;
type DefaultConfig = A.BetaManagedAgentsAgentToolsetDefaultConfig;
type WebFetchConfig = A.BetaManagedAgentsWebFetchToolConfig;
type Effort = NonNullable<ModelConfig['effort']>['type'];

export const EFFORTS = ['low', 'medium', 'high', 'xhigh', 'max'] as const satisfies readonly Effort[];
const MAX_TOOLS = 256;

/*
 * The shapes, types and lengths of everything below are checked at the route edge
 * (src/http/schemas/agents.ts): these functions apply defaults, resolve each part into its
 * response form, and keep the rules that span fields.
 */

export function resolveModel(input: ModelInput): ModelConfig {
  if (typeof input === 'string') return { id: input, effort: { type: 'high' } };
  const out: ModelConfig = { id: input.id };
  const effort = input.effort;
  out.effort = effort === undefined || effort === null ? { type: 'high' } : { type: typeof effort === 'string' ? effort : effort.type };
  if (input.inference_geo !== undefined && input.inference_geo !== null) out.inference_geo = input.inference_geo;
  if (input.speed !== undefined && input.speed !== null) out.speed = input.speed;
  return out;
}

function resolvePolicy(v: PermissionPolicy | null | undefined, fallback: PermissionPolicy): PermissionPolicy {
  return v === undefined || v === null ? fallback : { type: v.type };
}

/** A web_fetch URL source filter: `all`, `none`, or only/except a list of tools. */
function urlSourceFilter(v: ToolFilterInput | null | undefined): A.BetaManagedAgentsWebFetchURLSourceToolFilter | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return { type: v };
  if (v.type !== 'only' && v.type !== 'except') return { type: v.type };
  return { type: v.type, tools: v.tools.map((t) => ({ type: 'tool_reference', name: t.name })) };
}

/** The web_fetch URL source for user input, which has no tools to filter: `all` or `none`. */
function userInputSource(v: UserInputFilterInput | null | undefined): A.BetaManagedAgentsWebFetchURLSourceUserInput | null {
  if (v === undefined || v === null) return null;
  return { type: typeof v === 'string' ? v : v.type };
}

/** `allowed_domains` / `blocked_domains` of web_fetch and web_search: at most one of them. */
function domainFilter(c: BuiltinConfigInput, field: string): { allowed_domains?: string[]; blocked_domains?: string[] } {
  if (c.allowed_domains && c.blocked_domains) throw invalid(`${field}: allowed_domains and blocked_domains are mutually exclusive`);
  return { ...(c.allowed_domains ? { allowed_domains: c.allowed_domains } : {}), ...(c.blocked_domains ? { blocked_domains: c.blocked_domains } : {}) };
}

function webFetchOptions(c: BuiltinConfigInput): Pick<WebFetchConfig, 'url_sources' | 'max_content_tokens'> {
  const us = c.url_sources;
  const url_sources: WebFetchConfig['url_sources'] =
    us === undefined || us === null
      ? null
      : {
          client_tool_results: urlSourceFilter(us.client_tool_results),
          server_tool_results: urlSourceFilter(us.server_tool_results),
          user_input: userInputSource(us.user_input),
        };
  return c.max_content_tokens === undefined ? { url_sources } : { url_sources, max_content_tokens: c.max_content_tokens };
}

/** web_search's `user_location`: an approximate place, given by any of city, region, country, timezone. */
function userLocation(c: BuiltinConfigInput): Pick<A.BetaManagedAgentsWebSearchToolConfig, 'user_location'> {
  const ul = c.user_location;
  if (ul === undefined) return {};
  if (ul === null) return { user_location: null };
  const out: A.BetaManagedAgentsUserLocation = { type: 'approximate' };
  for (const k of ['city', 'region', 'country', 'timezone'] as const) {
    if (ul[k] !== undefined) out[k] = ul[k];
  }
  return { user_location: out };
}

function resolveBuiltinConfig(c: BuiltinConfigInput, field: string, defaults: DefaultConfig): BuiltinToolConfig {
  const name = c.name;
  if (c.type !== undefined && c.type !== name) throw invalid(`${field}.type: must equal name`);
  const policy = {
    enabled: c.enabled ?? defaults.enabled,
    permission_policy: resolvePolicy(c.permission_policy, defaults.permission_policy),
  };
  // One case per tool: each config type pairs its own `type` and `name` literals.
  switch (name) {
    case 'web_fetch':
      return { type: name, name, ...policy, ...domainFilter(c, field), ...webFetchOptions(c) };
    case 'web_search':
      return { type: name, name, ...policy, ...domainFilter(c, field), ...userLocation(c) };
    case 'bash':
      return { type: name, name, ...policy };
    case 'edit':
      return { type: name, name, ...policy };
    case 'read':
      return { type: name, name, ...policy };
    case 'write':
      return { type: name, name, ...policy };
    case 'glob':
      return { type: name, name, ...policy };
    case 'grep':
      return { type: name, name, ...policy };
  }
}

function resolveDefaultConfig(d: ToolDefaultsInput | null | undefined, fallbackPolicy: PermissionPolicy): DefaultConfig {
  return {
    enabled: d?.enabled ?? true,
    permission_policy: resolvePolicy(d?.permission_policy, fallbackPolicy),
  };
}

function resolveAgentToolset(t: Extract<ToolInput, { type: 'agent_toolset_20260401' }>, field: string): A.BetaManagedAgentsAgentToolset20260401 {
  const default_config = resolveDefaultConfig(t.default_config, { type: 'always_allow' });
  const given = new Map<BuiltinToolName, BuiltinToolConfig>();
  (t.configs ?? []).forEach((c, i) => {
    if (given.has(c.name)) throw invalid(`${field}.configs.${i}.name: duplicate config for ${c.name}`);
    given.set(c.name, resolveBuiltinConfig(c, `${field}.configs.${i}`, default_config));
  });
  const configs = BUILTIN_TOOLS.map((name) => given.get(name) ?? resolveBuiltinConfig({ name }, field, default_config));
  return { type: 'agent_toolset_20260401', default_config, configs };
}

function resolveMcpToolset(t: Extract<ToolInput, { type: 'mcp_toolset' }>, field: string): A.BetaManagedAgentsMCPToolset {
  // MCP tools reach outside systems, so by default each call asks first.
  const default_config = resolveDefaultConfig(t.default_config, { type: 'always_ask' });
  const seen = new Set<string>();
  const configs = (t.configs ?? []).map((c, i) => {
    if (seen.has(c.name)) throw invalid(`${field}.configs.${i}.name: duplicate config for ${c.name}`);
    seen.add(c.name);
    return {
      name: c.name,
      enabled: c.enabled ?? default_config.enabled,
      permission_policy: resolvePolicy(c.permission_policy, default_config.permission_policy),
    };
  });
  return { type: 'mcp_toolset', mcp_server_name: t.mcp_server_name, default_config, configs };
}

export function resolveTools(input: ToolInput[] | null | undefined, field = 'tools'): Tool[] {
  if (input === undefined || input === null) return [];
  let count = 0;
  const customNames = new Set<string>();
  const mcpToolsets = new Set<string>();
  let toolsets = 0;
  const out = input.map((t, i): Tool => {
    const f = `${field}.${i}`;
    switch (t.type) {
      case 'agent_toolset_20260401': {
        if (++toolsets > 1) throw invalid(`${f}: only one agent_toolset_20260401 is allowed`);
        count += BUILTIN_TOOLS.length;
        return resolveAgentToolset(t, f);
      }
      case 'mcp_toolset': {
        if (mcpToolsets.has(t.mcp_server_name)) throw invalid(`${f}.mcp_server_name: ${t.mcp_server_name} has more than one mcp_toolset`);
        mcpToolsets.add(t.mcp_server_name);
        count += 1;
        return resolveMcpToolset(t, f);
      }
      case 'custom': {
        if (customNames.has(t.name) || isOneOf(BUILTIN_TOOLS, t.name)) throw invalid(`${f}.name: tool name ${t.name} is already in use`);
        customNames.add(t.name);
        count += 1;
        return { type: 'custom', name: t.name, description: t.description, input_schema: t.input_schema };
      }
    }
  });
  if (count > MAX_TOOLS) throw invalid(`${field}: at most ${MAX_TOOLS} tools`);
  return out;
}

export function resolveMcpServers(input: McpServerInput[] | null | undefined, field = 'mcp_servers'): McpServer[] {
  if (input === undefined || input === null) return [];
  const names = new Set<string>();
  return input.map((s, i) => {
    if (names.has(s.name)) throw invalid(`${field}.${i}.name: duplicate MCP server name ${s.name}`);
    names.add(s.name);
    return { type: 'url', name: s.name, url: s.url };
  });
}

/** Every MCP server must be used by exactly one mcp_toolset, and every toolset must name a server. */
export function checkMcpReferences(tools: Tool[], servers: McpServer[], field = 'tools'): void {
  const names = new Set(servers.map((s) => s.name));
  const used = new Set<string>();
  tools.forEach((t, i) => {
    if (t.type !== 'mcp_toolset') return;
    const n = t.mcp_server_name;
    if (!names.has(n)) throw invalid(`${field}.${i}.mcp_server_name: no MCP server named ${n} in mcp_servers`);
    used.add(n);
  });
  for (const s of servers) {
    if (!used.has(s.name)) throw invalid(`mcp_servers: server ${s.name} is not referenced by any mcp_toolset in tools`);
  }
}

export function resolveSkills(input: SkillInput[] | null | undefined, field = 'skills'): Skill[] {
  if (input === undefined || input === null) return [];
  const seen = new Set<string>();
  return input.map((s, i) => {
    if (seen.has(s.skill_id)) throw invalid(`${field}.${i}.skill_id: duplicate skill ${s.skill_id}`);
    seen.add(s.skill_id);
    return { type: s.type, skill_id: s.skill_id, version: s.version ?? 'latest' };
  });
}

export function resolveExecutionIdentity(input: ExecutionIdentityInput | null | undefined): ExecutionIdentity {
  if (input === undefined || input === null || input.type === 'service_account') return { type: 'service_account' };
  return { type: 'aws_role', role_arn: input.role_arn };
}

/**
 * An agent named in a multiagent config, not yet pinned: `version` absent means latest, `self`
 * means the agent being written. Agents.pinMultiagent turns each into `{type:'agent', id, version}`,
 * the only reference form the SDK's response types have.
 */
export type AgentRefInput = { type: 'agent'; id: string; version?: number } | { type: 'self' };
type Advisor = A.BetaManagedAgentsAdvisor;

/** A delegation (`subagents` / `workflows`) whose predefined agents are named in form R. */
type Delegation<R> = { type: 'disabled' } | { type: 'enabled'; inline_agents: A.BetaManagedAgentsMultiagentInlineAgents; predefined_agents: R[] };

/**
 * A multiagent config whose agents are named in form R: as given (AgentRefInput), pinned (the
 * SDK's BetaManagedAgentsMultiagent) or expanded into thread agents (BetaManagedAgentsSessionMultiagent).
 */
export type Multiagent<R> =
  | { type: 'coordinator'; agents: Array<R | Advisor> }
  | { type: 'multiagent_20261001'; advisor: A.BetaManagedAgentsMultiagentAdvisor; subagents: Delegation<R>; workflows: Delegation<R> };

function agentRef(r: AgentRefInputT): AgentRefInput;
function agentRef(r: RosterEntryInput): AgentRefInput | Advisor;
function agentRef(r: RosterEntryInput): AgentRefInput | Advisor {
  if (typeof r === 'string') return { type: 'agent', id: r };
  if (r.type !== 'agent') return r;
  if (r.version === undefined || r.version === null) return { type: 'agent', id: r.id };
  return { type: 'agent', id: r.id, version: Number(r.version) };
}

/** `subagents` / `workflows` of multiagent_20261001: null or absent takes the enabled default. */
function delegation(d: DelegationInput | null | undefined): Delegation<AgentRefInput> {
  if (d === undefined || d === null) return { type: 'enabled', inline_agents: { type: 'enabled' }, predefined_agents: [] };
  if (d.type === 'disabled') return { type: 'disabled' };
  return {
    type: 'enabled',
    inline_agents: { type: d.inline_agents?.type ?? 'enabled' },
    predefined_agents: (d.predefined_agents ?? []).map((r) => agentRef(r)),
  };
}

export function resolveMultiagent(input: MultiagentInput | null | undefined): Multiagent<AgentRefInput> | null {
  if (input === undefined || input === null) return null;
  if (input.type === 'coordinator') return { type: 'coordinator', agents: input.agents.map((r) => agentRef(r)) };
  const adv = input.advisor;
  return {
    type: 'multiagent_20261001',
    advisor: adv?.type === 'enabled' ? { type: 'enabled', model: adv.model } : { type: 'disabled' },
    subagents: delegation(input.subagents),
    workflows: delegation(input.workflows),
  };
}

function isAdvisor(r: { type: string }): r is Advisor {
  return r.type === 'advisor';
}

/** Every agent reference in a multiagent config, rewritten by `pin` (order and advisors kept). */
export async function mapAgentRefs<In extends { type: string }, Out>(
  m: Multiagent<In> | null,
  pin: (ref: In, field: string) => Promise<Out>,
): Promise<Multiagent<Out> | null> {
  if (!m) return m;
  if (m.type === 'coordinator') {
    return { ...m, agents: await Promise.all(m.agents.map((r, i) => (isAdvisor(r) ? r : pin(r, `multiagent.agents.${i}`)))) };
  }
  const delegation = async (d: Delegation<In>, f: string): Promise<Delegation<Out>> =>
    d.type === 'enabled' ? { ...d, predefined_agents: await Promise.all(d.predefined_agents.map((r, i) => pin(r, `${f}.predefined_agents.${i}`))) } : d;
  return { ...m, subagents: await delegation(m.subagents, 'multiagent.subagents'), workflows: await delegation(m.workflows, 'multiagent.workflows') };
}
