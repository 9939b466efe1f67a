import type Anthropic from '@anthropic-ai/sdk';
import type { PermissionPolicy } from '../domain/agent-config.js';
import type { SessionAgent } from '../domain/sessions.js';
import type { EventOf } from '../domain/wire-events.js';
import { ToolNames } from '../mcp/naming.js';
import type { McpToolOffer } from './mcp-port.js';
import type { ToolExecutor } from './tool-executor.js';

/** How the runtime treats a tool the model may call, by the name the model uses. */
export type ToolRoute =
  | { kind: 'builtin'; name: string; policy: PermissionPolicy }
  | { kind: 'custom'; name: string }
  /** `name` is what the model calls it; `tool` is the server's own name for it. */
  | { kind: 'mcp'; name: string; server: string; tool: string; policy: PermissionPolicy };

export interface Toolset {
  /** The `tools` of a Messages API request. */
  definitions: Anthropic.Messages.ToolUnion[];
  route(name: string): ToolRoute | undefined;
}

/**
 * The tools of a session's agent, as the model sees them: enabled built-ins (defined by the tool
 * executor), custom tools, and the enabled tools of its MCP servers (`mcp`, as the servers listed
 * them), under names that collide with nothing else offered (src/mcp/naming.ts).
 */
export function toolsetFor(agent: SessionAgent, executor: ToolExecutor, mcp: McpToolOffer[] = []): Toolset {
  const routes = new Map<string, ToolRoute>();
  const definitions: Anthropic.Messages.ToolUnion[] = [];
  for (const t of agent.tools) {
    if (t.type === 'agent_toolset_20260401') {
      // Copies: the executor gets each enabled tool's config as a plain record.
      const configs = Object.fromEntries(t.configs.filter((c) => c.enabled).map((c) => [c.name, { ...c }]));
      for (const d of executor.definitions(Object.keys(configs), configs)) {
        if (d.kind === 'client') definitions.push({ name: d.name, description: d.description, input_schema: objectSchema(d.name, d.input_schema) });
        else definitions.push(d.tool as unknown as Anthropic.Messages.ToolUnion);
        const policy = configs[d.name]?.permission_policy ?? { type: 'always_allow' };
        routes.set(d.name, { kind: 'builtin', name: d.name, policy });
      }
    } else if (t.type === 'custom') {
      definitions.push({ name: t.name, description: t.description, input_schema: t.input_schema });
      routes.set(t.name, { kind: 'custom', name: t.name });
    }
  }
  const names = new ToolNames(routes.keys());
  for (const t of agent.tools) {
    if (t.type !== 'mcp_toolset') continue;
    const server = t.mcp_server_name;
    for (const offer of mcp) {
      if (offer.server !== server) continue;
      const { enabled, permission_policy: policy } = mcpToolConfig(t, offer.name);
      if (!enabled) continue;
      const name = names.name(server, offer.name);
      definitions.push({ name, ...(offer.description ? { description: offer.description } : {}), input_schema: offer.input_schema });
      routes.set(name, { kind: 'mcp', name, server, tool: offer.name, policy });
    }
  }
  return { definitions, route: (name) => routes.get(name) };
}

type McpToolset = Extract<SessionAgent['tools'][number], { type: 'mcp_toolset' }>;

/** A tool's own entry in its `mcp_toolset`, else the toolset's `default_config`. */
function mcpToolConfig(toolset: McpToolset, tool: string): { enabled: boolean; permission_policy: PermissionPolicy } {
  return toolset.configs.find((c) => c.name === tool) ?? toolset.default_config;
}

/** Whether the agent (still) has `tool` of `server` enabled. */
export function mcpToolEnabled(agent: SessionAgent, server: string, tool: string): boolean {
  const t = agent.tools.find((x): x is McpToolset => x.type === 'mcp_toolset' && x.mcp_server_name === server);
  return t !== undefined && agent.mcp_servers.some((s) => s.name === server) && mcpToolConfig(t, tool).enabled;
}

/** The MCP servers of an agent that may have a tool to offer (a toolset with everything disabled needs no connection). */
export function mcpServersInUse(agent: SessionAgent): string[] {
  return agent.tools.flatMap((t) => {
    if (t.type !== 'mcp_toolset') return [];
    return t.default_config.enabled || t.configs.some((c) => c.enabled) ? [t.mcp_server_name] : [];
  });
}

/** A tool's input schema as the Messages API takes it, which must describe an object. */
function objectSchema(tool: string, schema: Record<string, unknown>): Anthropic.Messages.Tool.InputSchema {
  if (schema.type !== 'object') throw new Error(`the ${tool} tool's input schema does not describe an object`);
  return { ...schema, type: 'object' };
}

/** `evaluated_permission` and `evaluation` of an `agent.tool_use`, from its policy. */
export function evaluate(policy: PermissionPolicy): Required<Pick<EventOf<'agent.tool_use'>, 'evaluated_permission' | 'evaluation'>> {
  switch (policy.type) {
    case 'always_ask':
      return { evaluated_permission: 'ask', evaluation: { type: 'always_ask' } };
    case 'auto':
      // No classifier runs here: `auto` is evaluated as allow, and says so.
      return { evaluated_permission: 'allow', evaluation: { type: 'auto', evaluated_permission: { type: 'allow' } } };
    default:
      return { evaluated_permission: 'allow', evaluation: { type: 'always_allow' } };
  }
}
