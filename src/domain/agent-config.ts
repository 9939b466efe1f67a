import type * as A from '@anthropic-ai/sdk/resources/beta/agents/agents';
import { invalid } from './errors.js';
import { isObject, isOneOf } from './validate.js';

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

const EFFORTS: readonly Effort[] = ['low', 'medium', 'high', 'xhigh', 'max'];
const POLICIES: readonly PermissionPolicy['type'][] = ['always_allow', 'always_ask', 'auto'];
const MAX_TOOLS = 256;
const MAX_MCP_SERVERS = 20;
const MAX_SKILLS = 20;
const NAME_RE = /^[A-Za-z0-9_-]{1,128}$/;

export function str(v: unknown, field: string, opts: { min?: number; max?: number } = {}): string {
  if (typeof v !== 'string') throw invalid(`${field}: must be a string`);
  if (opts.min !== undefined && v.length < opts.min) throw invalid(`${field}: must be at least ${opts.min} characters`);
  if (opts.max !== undefined && v.length > opts.max) throw invalid(`${field}: must be at most ${opts.max} characters`);
  return v;
}

export function optStr(v: unknown, field: string, max: number): string | null {
  if (v === undefined || v === null) return null;
  return str(v, field, { max });
}

export function resolveModel(input: unknown, field = 'model'): ModelConfig {
  if (typeof input === 'string') {
    if (!input.trim()) throw invalid(`${field}: must not be empty`);
    return { id: input, effort: { type: 'high' } };
  }
  if (!isObject(input)) throw invalid(`${field}: must be a model id string or a model config object`);
  // Older Go SDKs send `type: "model_config"`; it carries no meaning.
  if (input.type !== undefined && input.type !== 'model_config') throw invalid(`${field}.type: unexpected value`);
  const id = str(input.id, `${field}.id`, { min: 1, max: 256 });
  const out: ModelConfig = { id };
  const effort = input.effort;
  if (effort === undefined || effort === null) out.effort = { type: 'high' };
  else if (isOneOf(EFFORTS, effort)) out.effort = { type: effort };
  else if (isObject(effort) && isOneOf(EFFORTS, effort.type)) out.effort = { type: effort.type };
  else throw invalid(`${field}.effort: must be one of ${EFFORTS.join(', ')}`);
  if (input.inference_geo !== undefined && input.inference_geo !== null) out.inference_geo = str(input.inference_geo, `${field}.inference_geo`, { max: 64 });
  if (input.speed !== undefined && input.speed !== null) {
    if (input.speed !== 'standard' && input.speed !== 'fast') throw invalid(`${field}.speed: must be standard or fast`);
    out.speed = input.speed;
  }
  return out;
}

function resolvePolicy(v: unknown, field: string, fallback: PermissionPolicy): PermissionPolicy {
  if (v === undefined || v === null) return fallback;
  if (!isObject(v) || !isOneOf(POLICIES, v.type)) throw invalid(`${field}: must be {type: always_allow | always_ask | auto}`);
  return { type: v.type };
}

function resolveEnabled(v: unknown, field: string, fallback: boolean): boolean {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw invalid(`${field}: must be a boolean`);
  return v;
}

function domainList(v: unknown, field: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length === 0 || v.length > 64) throw invalid(`${field}: must be a list of 1-64 domains`);
  return v.map((d, i) => str(d, `${field}.${i}`, { min: 1, max: 253 }));
}

/** A web_fetch URL source filter: `all`, `none`, or only/except a list of tools. */
function urlSourceFilter(v: unknown, field: string): A.BetaManagedAgentsWebFetchURLSourceToolFilter | null {
  if (v === undefined || v === null) return null;
  const type = isObject(v) ? v.type : v;
  if (type === 'all' || type === 'none') return { type };
  if (!isObject(v)) throw invalid(`${field}: must be "all", "none" or a filter object`);
  if (type !== 'only' && type !== 'except') throw invalid(`${field}.type: must be one of all, none, only, except`);
  if (!Array.isArray(v.tools)) throw invalid(`${field}.tools: must be a list of tool references`);
  return {
    type,
    tools: v.tools.map((t, i) => {
      if (!isObject(t) || t.type !== 'tool_reference') throw invalid(`${field}.tools.${i}: must be {type: tool_reference, name}`);
      return { type: 'tool_reference', name: str(t.name, `${field}.tools.${i}.name`, { min: 1, max: 128 }) };
    }),
  };
}

/** The web_fetch URL source for user input, which has no tools to filter: `all` or `none`. */
function userInputSource(v: unknown, field: string): A.BetaManagedAgentsWebFetchURLSourceUserInput | null {
  if (v === undefined || v === null) return null;
  const type = isObject(v) ? v.type : v;
  if (type === 'all' || type === 'none') return { type };
  if (!isObject(v)) throw invalid(`${field}: must be "all", "none" or a filter object`);
  throw invalid(`${field}.type: must be one of all, none`);
}

/** `allowed_domains` / `blocked_domains` of web_fetch and web_search: at most one of them. */
function domainFilter(c: Record<string, unknown>, field: string): { allowed_domains?: string[]; blocked_domains?: string[] } {
  const allowed = domainList(c.allowed_domains, `${field}.allowed_domains`);
  const blocked = domainList(c.blocked_domains, `${field}.blocked_domains`);
  if (allowed && blocked) throw invalid(`${field}: allowed_domains and blocked_domains are mutually exclusive`);
  return { ...(allowed ? { allowed_domains: allowed } : {}), ...(blocked ? { blocked_domains: blocked } : {}) };
}

function webFetchOptions(c: Record<string, unknown>, field: string): Pick<WebFetchConfig, 'url_sources' | 'max_content_tokens'> {
  const us = c.url_sources;
  let url_sources: WebFetchConfig['url_sources'] = null;
  if (us !== undefined && us !== null) {
    if (!isObject(us)) throw invalid(`${field}.url_sources: must be an object`);
    url_sources = {
      client_tool_results: urlSourceFilter(us.client_tool_results, `${field}.url_sources.client_tool_results`),
      server_tool_results: urlSourceFilter(us.server_tool_results, `${field}.url_sources.server_tool_results`),
      user_input: userInputSource(us.user_input, `${field}.url_sources.user_input`),
    };
  }
  const max = c.max_content_tokens;
  if (max === undefined) return { url_sources };
  if (max !== null && (typeof max !== 'number' || !Number.isInteger(max) || max < 1)) throw invalid(`${field}.max_content_tokens: must be a positive integer`);
  return { url_sources, max_content_tokens: max };
}

/** web_search's `user_location`: an approximate place, given by any of city, region, country, timezone. */
function userLocation(c: Record<string, unknown>, field: string): Pick<A.BetaManagedAgentsWebSearchToolConfig, 'user_location'> {
  const ul = c.user_location;
  if (ul === undefined) return {};
  if (ul === null) return { user_location: null };
  if (!isObject(ul) || ul.type !== 'approximate') throw invalid(`${field}.user_location: must be {type: approximate, …}`);
  const out: A.BetaManagedAgentsUserLocation = { type: 'approximate' };
  for (const k of ['city', 'region', 'country', 'timezone'] as const) {
    if (ul[k] !== undefined) out[k] = optStr(ul[k], `${field}.user_location.${k}`, 255);
  }
  return { user_location: out };
}

function resolveBuiltinConfig(c: unknown, field: string, defaults: DefaultConfig): BuiltinToolConfig {
  if (!isObject(c)) throw invalid(`${field}: must be an object`);
  const name = c.name;
  if (!isOneOf(BUILTIN_TOOLS, name)) throw invalid(`${field}.name: must be one of ${BUILTIN_TOOLS.join(', ')}`);
  if (c.type !== undefined && c.type !== name) throw invalid(`${field}.type: must equal name`);
  const policy = {
    enabled: resolveEnabled(c.enabled, `${field}.enabled`, defaults.enabled),
    permission_policy: resolvePolicy(c.permission_policy, `${field}.permission_policy`, defaults.permission_policy),
  };
  // One case per tool: each config type pairs its own `type` and `name` literals.
  switch (name) {
    case 'web_fetch':
      return { type: name, name, ...policy, ...domainFilter(c, field), ...webFetchOptions(c, field) };
    case 'web_search':
      return { type: name, name, ...policy, ...domainFilter(c, field), ...userLocation(c, field) };
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

function resolveDefaultConfig(v: unknown, field: string, fallbackPolicy: PermissionPolicy): DefaultConfig {
  if (v !== undefined && v !== null && !isObject(v)) throw invalid(`${field}: must be an object`);
  const d = isObject(v) ? v : {};
  return {
    enabled: resolveEnabled(d.enabled, `${field}.enabled`, true),
    permission_policy: resolvePolicy(d.permission_policy, `${field}.permission_policy`, fallbackPolicy),
  };
}

/** A toolset's `configs`: absent means none; anything but a list (null included) is refused. */
function configList(v: unknown, field: string): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw invalid(`${field}: must be a list`);
  return v;
}

function resolveAgentToolset(t: Record<string, unknown>, field: string): A.BetaManagedAgentsAgentToolset20260401 {
  const default_config = resolveDefaultConfig(t.default_config, `${field}.default_config`, { type: 'always_allow' });
  const given = new Map<BuiltinToolName, BuiltinToolConfig>();
  configList(t.configs, `${field}.configs`).forEach((c, i) => {
    const r = resolveBuiltinConfig(c, `${field}.configs.${i}`, default_config);
    if (given.has(r.name)) throw invalid(`${field}.configs.${i}.name: duplicate config for ${r.name}`);
    given.set(r.name, r);
  });
  const configs = BUILTIN_TOOLS.map((name) => given.get(name) ?? resolveBuiltinConfig({ name }, field, default_config));
  return { type: 'agent_toolset_20260401', default_config, configs };
}

function resolveMcpToolset(t: Record<string, unknown>, field: string): A.BetaManagedAgentsMCPToolset {
  const mcp_server_name = str(t.mcp_server_name, `${field}.mcp_server_name`, { min: 1, max: 255 });
  // MCP tools reach outside systems, so by default each call asks first.
  const default_config = resolveDefaultConfig(t.default_config, `${field}.default_config`, { type: 'always_ask' });
  const seen = new Set<string>();
  const configs = configList(t.configs, `${field}.configs`).map((c, i) => {
    if (!isObject(c)) throw invalid(`${field}.configs.${i}: must be an object`);
    const name = str(c.name, `${field}.configs.${i}.name`, { min: 1, max: 128 });
    if (seen.has(name)) throw invalid(`${field}.configs.${i}.name: duplicate config for ${name}`);
    seen.add(name);
    return {
      name,
      enabled: resolveEnabled(c.enabled, `${field}.configs.${i}.enabled`, default_config.enabled),
      permission_policy: resolvePolicy(c.permission_policy, `${field}.configs.${i}.permission_policy`, default_config.permission_policy),
    };
  });
  return { type: 'mcp_toolset', mcp_server_name, default_config, configs };
}

function resolveCustomTool(t: Record<string, unknown>, field: string): A.BetaManagedAgentsCustomTool {
  const name = str(t.name, `${field}.name`);
  if (!NAME_RE.test(name)) throw invalid(`${field}.name: must be 1-128 characters of letters, digits, _ or -`);
  const description = str(t.description, `${field}.description`, { max: 10_000 });
  const schema = t.input_schema;
  if (!isObject(schema) || schema.type !== 'object') throw invalid(`${field}.input_schema: must be a JSON schema with type "object"`);
  if (schema.properties !== undefined && schema.properties !== null && !isObject(schema.properties)) {
    throw invalid(`${field}.input_schema.properties: must be an object`);
  }
  if (schema.required !== undefined && schema.required !== null && (!Array.isArray(schema.required) || schema.required.some((r) => typeof r !== 'string'))) {
    throw invalid(`${field}.input_schema.required: must be a list of strings`);
  }
  return { type: 'custom', name, description, input_schema: { ...schema, type: 'object' } };
}

export function resolveTools(input: unknown, field = 'tools'): Tool[] {
  if (input === undefined || input === null) return [];
  if (!Array.isArray(input)) throw invalid(`${field}: must be a list`);
  let count = 0;
  const customNames = new Set<string>();
  const mcpToolsets = new Set<string>();
  let toolsets = 0;
  const out = input.map((t, i): Tool => {
    const f = `${field}.${i}`;
    if (!isObject(t)) throw invalid(`${f}: must be an object`);
    switch (t.type) {
      case 'agent_toolset_20260401': {
        if (++toolsets > 1) throw invalid(`${f}: only one agent_toolset_20260401 is allowed`);
        count += BUILTIN_TOOLS.length;
        return resolveAgentToolset(t, f);
      }
      case 'mcp_toolset': {
        const r = resolveMcpToolset(t, f);
        if (mcpToolsets.has(r.mcp_server_name)) throw invalid(`${f}.mcp_server_name: ${r.mcp_server_name} has more than one mcp_toolset`);
        mcpToolsets.add(r.mcp_server_name);
        count += 1;
        return r;
      }
      case 'custom': {
        const r = resolveCustomTool(t, f);
        if (customNames.has(r.name) || isOneOf(BUILTIN_TOOLS, r.name)) throw invalid(`${f}.name: tool name ${r.name} is already in use`);
        customNames.add(r.name);
        count += 1;
        return r;
      }
      default:
        throw invalid(`${f}.type: must be agent_toolset_20260401, mcp_toolset or custom`);
    }
  });
  if (count > MAX_TOOLS) throw invalid(`${field}: at most ${MAX_TOOLS} tools`);
  return out;
}

export function resolveMcpServers(input: unknown, field = 'mcp_servers'): McpServer[] {
  if (input === undefined || input === null) return [];
  if (!Array.isArray(input)) throw invalid(`${field}: must be a list`);
  if (input.length > MAX_MCP_SERVERS) throw invalid(`${field}: at most ${MAX_MCP_SERVERS} MCP servers`);
  const names = new Set<string>();
  return input.map((s, i) => {
    const f = `${field}.${i}`;
    if (!isObject(s)) throw invalid(`${f}: must be an object`);
    if (s.type !== 'url') throw invalid(`${f}.type: must be "url"`);
    const name = str(s.name, `${f}.name`, { min: 1, max: 255 });
    if (names.has(name)) throw invalid(`${f}.name: duplicate MCP server name ${name}`);
    names.add(name);
    const url = str(s.url, `${f}.url`, { min: 1, max: 2048 });
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw invalid(`${f}.url: must be an absolute http(s) URL`);
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw invalid(`${f}.url: must be an http(s) URL`);
    return { type: 'url', name, url };
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

export function resolveSkills(input: unknown, field = 'skills'): Skill[] {
  if (input === undefined || input === null) return [];
  if (!Array.isArray(input)) throw invalid(`${field}: must be a list`);
  if (input.length > MAX_SKILLS) throw invalid(`${field}: at most ${MAX_SKILLS} skills`);
  const seen = new Set<string>();
  return input.map((s, i) => {
    const f = `${field}.${i}`;
    if (!isObject(s)) throw invalid(`${f}: must be an object`);
    if (s.type !== 'anthropic' && s.type !== 'custom') throw invalid(`${f}.type: must be anthropic or custom`);
    const skill_id = str(s.skill_id, `${f}.skill_id`, { min: 1, max: 128 });
    if (seen.has(skill_id)) throw invalid(`${f}.skill_id: duplicate skill ${skill_id}`);
    seen.add(skill_id);
    const version = s.version === undefined || s.version === null ? 'latest' : str(s.version, `${f}.version`, { min: 1, max: 64 });
    return { type: s.type, skill_id, version };
  });
}

export function resolveExecutionIdentity(input: unknown): ExecutionIdentity {
  if (input === undefined || input === null) return { type: 'service_account' };
  if (!isObject(input)) throw invalid('execution_identity: must be an object');
  if (input.type === 'service_account') return { type: 'service_account' };
  if (input.type === 'aws_role') return { type: 'aws_role', role_arn: str(input.role_arn, 'execution_identity.role_arn', { min: 1, max: 2048 }) };
  throw invalid('execution_identity.type: must be service_account or aws_role');
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

function agentRef(v: unknown, f: string, orAdvisor = ''): AgentRefInput {
  if (typeof v === 'string') return { type: 'agent', id: str(v, f, { min: 1, max: 128 }) };
  if (!isObject(v)) throw invalid(`${f}: must be an agent id or an agent reference object`);
  if (v.type === 'self') return { type: 'self' };
  if (v.type !== 'agent') throw invalid(`${f}.type: must be agent or self${orAdvisor}`);
  const id = str(v.id, `${f}.id`, { min: 1, max: 128 });
  if (v.version === undefined || v.version === null) return { type: 'agent', id };
  const version = typeof v.version === 'string' && /^\d+$/.test(v.version) ? Number(v.version) : v.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) throw invalid(`${f}.version: must be a positive integer`);
  return { type: 'agent', id, version };
}

/** A coordinator's roster entry: an agent, or an advisor model. */
function rosterEntry(v: unknown, f: string): AgentRefInput | Advisor {
  if (isObject(v) && v.type === 'advisor') return { type: 'advisor', model: str(v.model, `${f}.model`, { min: 1, max: 256 }) };
  return agentRef(v, f, ' or advisor');
}

/** `subagents` / `workflows` of multiagent_20261001: null or absent takes the enabled default. */
function delegation(v: unknown, f: string): Delegation<AgentRefInput> {
  if (v === undefined || v === null) return { type: 'enabled', inline_agents: { type: 'enabled' }, predefined_agents: [] };
  if (!isObject(v)) throw invalid(`${f}: must be an object`);
  if (v.type === 'disabled') return { type: 'disabled' };
  if (v.type !== 'enabled') throw invalid(`${f}.type: must be enabled or disabled`);
  const inline = v.inline_agents ?? { type: 'enabled' };
  if (!isObject(inline) || (inline.type !== 'enabled' && inline.type !== 'disabled')) throw invalid(`${f}.inline_agents.type: must be enabled or disabled`);
  const list = v.predefined_agents ?? [];
  if (!Array.isArray(list) || list.length > 20) throw invalid(`${f}.predefined_agents: must list at most 20 agents`);
  return { type: 'enabled', inline_agents: { type: inline.type }, predefined_agents: list.map((a, i) => agentRef(a, `${f}.predefined_agents.${i}`)) };
}

export function resolveMultiagent(input: unknown): Multiagent<AgentRefInput> | null {
  if (input === undefined || input === null) return null;
  if (!isObject(input)) throw invalid('multiagent: must be an object');
  if (input.type === 'coordinator') {
    if (!Array.isArray(input.agents) || input.agents.length < 1 || input.agents.length > 20) {
      throw invalid('multiagent.agents: must list 1-20 agents');
    }
    return { type: 'coordinator', agents: input.agents.map((a, i) => rosterEntry(a, `multiagent.agents.${i}`)) };
  }
  if (input.type === 'multiagent_20261001') {
    const adv = input.advisor ?? { type: 'disabled' };
    if (!isObject(adv) || (adv.type !== 'enabled' && adv.type !== 'disabled')) throw invalid('multiagent.advisor.type: must be enabled or disabled');
    return {
      type: 'multiagent_20261001',
      advisor: adv.type === 'enabled' ? { type: 'enabled', model: str(adv.model, 'multiagent.advisor.model', { min: 1, max: 256 }) } : { type: 'disabled' },
      subagents: delegation(input.subagents, 'multiagent.subagents'),
      workflows: delegation(input.workflows, 'multiagent.workflows'),
    };
  }
  throw invalid('multiagent.type: must be coordinator or multiagent_20261001');
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
