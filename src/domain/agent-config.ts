import { invalid } from './errors.js';

/**
 * Validation and resolution of the parts an agent (and a session's agent override) is made of:
 * model, tools, MCP servers, skills. Everything is returned in the fully resolved response form
 * the SDK types describe, so that stored agents never need resolving again.
 */

export const BUILTIN_TOOLS = ['bash', 'edit', 'read', 'write', 'glob', 'grep', 'web_fetch', 'web_search'] as const;
export type BuiltinToolName = (typeof BUILTIN_TOOLS)[number];

export type PermissionPolicy = { type: 'always_allow' } | { type: 'always_ask' } | { type: 'auto' };
export interface ModelConfig {
  id: string;
  effort?: { type: string };
  inference_geo?: string;
  speed?: 'standard' | 'fast';
}
export interface McpServer {
  type: 'url';
  name: string;
  url: string;
}
export interface Skill {
  type: 'anthropic' | 'custom';
  skill_id: string;
  version: string;
}
export type Tool = Record<string, unknown> & { type: string };

const EFFORTS = ['low', 'medium', 'high', 'xhigh', 'max'];
const MAX_TOOLS = 256;
const MAX_MCP_SERVERS = 20;
const MAX_SKILLS = 20;
const NAME_RE = /^[A-Za-z0-9_-]{1,128}$/;

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

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
  if (!isObj(input)) throw invalid(`${field}: must be a model id string or a model config object`);
  // Older Go SDKs send `type: "model_config"`; it carries no meaning.
  if (input.type !== undefined && input.type !== 'model_config') throw invalid(`${field}.type: unexpected value`);
  const id = str(input.id, `${field}.id`, { min: 1, max: 256 });
  const out: ModelConfig = { id };
  const effort = input.effort;
  if (effort === undefined || effort === null) out.effort = { type: 'high' };
  else if (typeof effort === 'string' && EFFORTS.includes(effort)) out.effort = { type: effort };
  else if (isObj(effort) && typeof effort.type === 'string' && EFFORTS.includes(effort.type)) out.effort = { type: effort.type };
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
  if (!isObj(v) || !['always_allow', 'always_ask', 'auto'].includes(v.type as string)) {
    throw invalid(`${field}: must be {type: always_allow | always_ask | auto}`);
  }
  return { type: v.type as PermissionPolicy['type'] };
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

function urlSourceFilter(v: unknown, field: string, userInput: boolean): Record<string, unknown> | null {
  if (v === undefined || v === null) return null;
  if (v === 'all' || v === 'none') return { type: v };
  if (!isObj(v)) throw invalid(`${field}: must be "all", "none" or a filter object`);
  const allowed = userInput ? ['all', 'none'] : ['all', 'none', 'only', 'except'];
  if (!allowed.includes(v.type as string)) throw invalid(`${field}.type: must be one of ${allowed.join(', ')}`);
  if (v.type === 'only' || v.type === 'except') {
    if (!Array.isArray(v.tools)) throw invalid(`${field}.tools: must be a list of tool references`);
    return {
      type: v.type,
      tools: v.tools.map((t, i) => {
        if (!isObj(t) || t.type !== 'tool_reference') throw invalid(`${field}.tools.${i}: must be {type: tool_reference, name}`);
        return { type: 'tool_reference', name: str(t.name, `${field}.tools.${i}.name`, { min: 1, max: 128 }) };
      }),
    };
  }
  return { type: v.type };
}

function resolveBuiltinConfig(c: unknown, field: string, defaults: { enabled: boolean; permission_policy: PermissionPolicy }): Tool {
  if (!isObj(c)) throw invalid(`${field}: must be an object`);
  const name = c.name;
  if (typeof name !== 'string' || !BUILTIN_TOOLS.includes(name as BuiltinToolName)) {
    throw invalid(`${field}.name: must be one of ${BUILTIN_TOOLS.join(', ')}`);
  }
  if (c.type !== undefined && c.type !== name) throw invalid(`${field}.type: must equal name`);
  const out: Tool = {
    type: name,
    name,
    enabled: resolveEnabled(c.enabled, `${field}.enabled`, defaults.enabled),
    permission_policy: resolvePolicy(c.permission_policy, `${field}.permission_policy`, defaults.permission_policy),
  };
  if (name === 'web_fetch' || name === 'web_search') {
    const allowed = domainList(c.allowed_domains, `${field}.allowed_domains`);
    const blocked = domainList(c.blocked_domains, `${field}.blocked_domains`);
    if (allowed && blocked) throw invalid(`${field}: allowed_domains and blocked_domains are mutually exclusive`);
    if (allowed) out.allowed_domains = allowed;
    if (blocked) out.blocked_domains = blocked;
  }
  if (name === 'web_fetch') {
    const us = c.url_sources;
    if (us === undefined || us === null) out.url_sources = null;
    else if (!isObj(us)) throw invalid(`${field}.url_sources: must be an object`);
    else
      out.url_sources = {
        client_tool_results: urlSourceFilter(us.client_tool_results, `${field}.url_sources.client_tool_results`, false),
        server_tool_results: urlSourceFilter(us.server_tool_results, `${field}.url_sources.server_tool_results`, false),
        user_input: urlSourceFilter(us.user_input, `${field}.url_sources.user_input`, true),
      };
    if (c.max_content_tokens !== undefined) {
      if (c.max_content_tokens !== null && (!Number.isInteger(c.max_content_tokens) || (c.max_content_tokens as number) < 1)) {
        throw invalid(`${field}.max_content_tokens: must be a positive integer`);
      }
      out.max_content_tokens = c.max_content_tokens;
    }
  }
  if (name === 'web_search' && c.user_location !== undefined) {
    const ul = c.user_location;
    if (ul !== null && (!isObj(ul) || ul.type !== 'approximate')) throw invalid(`${field}.user_location: must be {type: approximate, …}`);
    out.user_location = ul;
  }
  return out;
}

function resolveDefaultConfig(v: unknown, field: string, fallbackPolicy: PermissionPolicy) {
  if (v !== undefined && v !== null && !isObj(v)) throw invalid(`${field}: must be an object`);
  const d = (v ?? {}) as Record<string, unknown>;
  return {
    enabled: resolveEnabled(d.enabled, `${field}.enabled`, true),
    permission_policy: resolvePolicy(d.permission_policy, `${field}.permission_policy`, fallbackPolicy),
  };
}

function resolveAgentToolset(t: Record<string, unknown>, field: string): Tool {
  const default_config = resolveDefaultConfig(t.default_config, `${field}.default_config`, { type: 'always_allow' });
  if (t.configs !== undefined && !Array.isArray(t.configs)) throw invalid(`${field}.configs: must be a list`);
  const given = new Map<string, Tool>();
  ((t.configs as unknown[]) ?? []).forEach((c, i) => {
    const r = resolveBuiltinConfig(c, `${field}.configs.${i}`, default_config);
    if (given.has(r.name as string)) throw invalid(`${field}.configs.${i}.name: duplicate config for ${r.name}`);
    given.set(r.name as string, r);
  });
  const configs = BUILTIN_TOOLS.map((name) => given.get(name) ?? resolveBuiltinConfig({ name }, field, default_config));
  return { type: 'agent_toolset_20260401', default_config, configs };
}

function resolveMcpToolset(t: Record<string, unknown>, field: string): Tool {
  const mcp_server_name = str(t.mcp_server_name, `${field}.mcp_server_name`, { min: 1, max: 255 });
  // MCP tools reach outside systems, so by default each call asks first.
  const default_config = resolveDefaultConfig(t.default_config, `${field}.default_config`, { type: 'always_ask' });
  if (t.configs !== undefined && !Array.isArray(t.configs)) throw invalid(`${field}.configs: must be a list`);
  const seen = new Set<string>();
  const configs = ((t.configs as unknown[]) ?? []).map((c, i) => {
    if (!isObj(c)) throw invalid(`${field}.configs.${i}: must be an object`);
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

function resolveCustomTool(t: Record<string, unknown>, field: string): Tool {
  const name = str(t.name, `${field}.name`);
  if (!NAME_RE.test(name)) throw invalid(`${field}.name: must be 1-128 characters of letters, digits, _ or -`);
  const description = str(t.description, `${field}.description`, { max: 10_000 });
  const schema = t.input_schema;
  if (!isObj(schema) || schema.type !== 'object') throw invalid(`${field}.input_schema: must be a JSON schema with type "object"`);
  if (schema.properties !== undefined && schema.properties !== null && !isObj(schema.properties)) {
    throw invalid(`${field}.input_schema.properties: must be an object`);
  }
  if (schema.required !== undefined && schema.required !== null && (!Array.isArray(schema.required) || schema.required.some((r) => typeof r !== 'string'))) {
    throw invalid(`${field}.input_schema.required: must be a list of strings`);
  }
  return { type: 'custom', name, description, input_schema: schema };
}

export function resolveTools(input: unknown, field = 'tools'): Tool[] {
  if (input === undefined || input === null) return [];
  if (!Array.isArray(input)) throw invalid(`${field}: must be a list`);
  let count = 0;
  const customNames = new Set<string>();
  const mcpToolsets = new Set<string>();
  let toolsets = 0;
  const out = input.map((t, i) => {
    const f = `${field}.${i}`;
    if (!isObj(t)) throw invalid(`${f}: must be an object`);
    switch (t.type) {
      case 'agent_toolset_20260401': {
        if (++toolsets > 1) throw invalid(`${f}: only one agent_toolset_20260401 is allowed`);
        count += BUILTIN_TOOLS.length;
        return resolveAgentToolset(t, f);
      }
      case 'mcp_toolset': {
        const r = resolveMcpToolset(t, f);
        if (mcpToolsets.has(r.mcp_server_name as string)) throw invalid(`${f}.mcp_server_name: ${r.mcp_server_name} has more than one mcp_toolset`);
        mcpToolsets.add(r.mcp_server_name as string);
        count += 1;
        return r;
      }
      case 'custom': {
        const r = resolveCustomTool(t, f);
        if (customNames.has(r.name as string) || BUILTIN_TOOLS.includes(r.name as BuiltinToolName)) {
          throw invalid(`${f}.name: tool name ${r.name} is already in use`);
        }
        customNames.add(r.name as string);
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
    if (!isObj(s)) throw invalid(`${f}: must be an object`);
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
    const n = t.mcp_server_name as string;
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
    if (!isObj(s)) throw invalid(`${f}: must be an object`);
    if (s.type !== 'anthropic' && s.type !== 'custom') throw invalid(`${f}.type: must be anthropic or custom`);
    const skill_id = str(s.skill_id, `${f}.skill_id`, { min: 1, max: 128 });
    if (seen.has(skill_id)) throw invalid(`${f}.skill_id: duplicate skill ${skill_id}`);
    seen.add(skill_id);
    const version = s.version === undefined || s.version === null ? 'latest' : str(s.version, `${f}.version`, { min: 1, max: 64 });
    return { type: s.type, skill_id, version };
  });
}

export function resolveExecutionIdentity(input: unknown): Record<string, unknown> {
  if (input === undefined || input === null) return { type: 'service_account' };
  if (!isObj(input)) throw invalid('execution_identity: must be an object');
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

function agentRef(v: unknown, f: string, allowAdvisor: boolean): AgentRefInput | { type: 'advisor'; model: string } {
  if (typeof v === 'string') return { type: 'agent', id: str(v, f, { min: 1, max: 128 }) };
  if (!isObj(v)) throw invalid(`${f}: must be an agent id or an agent reference object`);
  if (v.type === 'self') return { type: 'self' };
  if (v.type === 'advisor' && allowAdvisor) return { type: 'advisor', model: str(v.model, `${f}.model`, { min: 1, max: 256 }) };
  if (v.type !== 'agent') throw invalid(`${f}.type: must be agent or self${allowAdvisor ? ' or advisor' : ''}`);
  const id = str(v.id, `${f}.id`, { min: 1, max: 128 });
  if (v.version === undefined || v.version === null) return { type: 'agent', id };
  const version = typeof v.version === 'string' && /^\d+$/.test(v.version) ? Number(v.version) : v.version;
  if (!Number.isInteger(version) || (version as number) < 1) throw invalid(`${f}.version: must be a positive integer`);
  return { type: 'agent', id, version: version as number };
}

/** `subagents` / `workflows` of multiagent_20261001: null or absent takes the enabled default. */
function delegation(v: unknown, f: string): Record<string, unknown> {
  if (v === undefined || v === null) return { type: 'enabled', inline_agents: { type: 'enabled' }, predefined_agents: [] };
  if (!isObj(v)) throw invalid(`${f}: must be an object`);
  if (v.type === 'disabled') return { type: 'disabled' };
  if (v.type !== 'enabled') throw invalid(`${f}.type: must be enabled or disabled`);
  const inline = v.inline_agents ?? { type: 'enabled' };
  if (!isObj(inline) || (inline.type !== 'enabled' && inline.type !== 'disabled')) throw invalid(`${f}.inline_agents.type: must be enabled or disabled`);
  const list = v.predefined_agents ?? [];
  if (!Array.isArray(list) || list.length > 20) throw invalid(`${f}.predefined_agents: must list at most 20 agents`);
  return { type: 'enabled', inline_agents: { type: inline.type }, predefined_agents: list.map((a, i) => agentRef(a, `${f}.predefined_agents.${i}`, false)) };
}

export function resolveMultiagent(input: unknown): Record<string, unknown> | null {
  if (input === undefined || input === null) return null;
  if (!isObj(input)) throw invalid('multiagent: must be an object');
  if (input.type === 'coordinator') {
    if (!Array.isArray(input.agents) || input.agents.length < 1 || input.agents.length > 20) {
      throw invalid('multiagent.agents: must list 1-20 agents');
    }
    return { type: 'coordinator', agents: input.agents.map((a, i) => agentRef(a, `multiagent.agents.${i}`, true)) };
  }
  if (input.type === 'multiagent_20261001') {
    const adv = input.advisor ?? { type: 'disabled' };
    if (!isObj(adv) || (adv.type !== 'enabled' && adv.type !== 'disabled')) throw invalid('multiagent.advisor.type: must be enabled or disabled');
    return {
      type: 'multiagent_20261001',
      advisor: adv.type === 'enabled' ? { type: 'enabled', model: str(adv.model, 'multiagent.advisor.model', { min: 1, max: 256 }) } : { type: 'disabled' },
      subagents: delegation(input.subagents, 'multiagent.subagents'),
      workflows: delegation(input.workflows, 'multiagent.workflows'),
    };
  }
  throw invalid('multiagent.type: must be coordinator or multiagent_20261001');
}

/** Every agent reference in a resolved multiagent config, rewritten by `pin` (order kept). */
export async function mapAgentRefs<T>(
  m: Record<string, unknown> | null,
  pin: (ref: AgentRefInput, field: string) => Promise<T>,
): Promise<Record<string, unknown> | null> {
  if (!m) return m;
  const refs = async (list: unknown[], f: string) =>
    Promise.all(list.map((r, i) => ((r as { type: string }).type === 'advisor' ? r : pin(r as AgentRefInput, `${f}.${i}`))));
  if (m.type === 'coordinator') return { ...m, agents: await refs(m.agents as unknown[], 'multiagent.agents') };
  const out = { ...m };
  for (const key of ['subagents', 'workflows'] as const) {
    const d = m[key] as Record<string, unknown>;
    if (d.type === 'enabled') out[key] = { ...d, predefined_agents: await refs(d.predefined_agents as unknown[], `multiagent.${key}.predefined_agents`) };
  }
  return out;
}
