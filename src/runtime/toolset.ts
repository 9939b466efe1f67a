import type Anthropic from '@anthropic-ai/sdk';
import type * as Sdk from '@anthropic-ai/sdk/resources/beta/sessions/events';
import type { PermissionPolicy, Tool } from '../domain/agent-config.js';
import type { SessionAgent } from '../domain/sessions.js';
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
  for (const t of agent.tools as Tool[]) {
    if (t.type === 'agent_toolset_20260401') {
      const enabled = (t.configs as Array<Tool & { enabled: boolean; permission_policy: PermissionPolicy }>).filter((c) => c.enabled);
      const configs = Object.fromEntries(enabled.map((c) => [c.name as string, c as Record<string, unknown>]));
      for (const d of executor.definitions(Object.keys(configs), configs)) {
        if (d.kind === 'client') definitions.push({ name: d.name, description: d.description, input_schema: d.input_schema as Anthropic.Messages.Tool.InputSchema });
        else definitions.push(d.tool as unknown as Anthropic.Messages.ToolUnion);
        const policy = (configs[d.name]?.permission_policy as PermissionPolicy | undefined) ?? { type: 'always_allow' };
        routes.set(d.name, { kind: 'builtin', name: d.name, policy });
      }
    } else if (t.type === 'custom') {
      const name = t.name as string;
      definitions.push({ name, description: t.description as string, input_schema: t.input_schema as Anthropic.Messages.Tool.InputSchema });
      routes.set(name, { kind: 'custom', name });
    }
  }
  const names = new ToolNames(routes.keys());
  for (const t of agent.tools as Tool[]) {
    if (t.type !== 'mcp_toolset') continue;
    const server = t.mcp_server_name as string;
    for (const offer of mcp) {
      if (offer.server !== server) continue;
      const { enabled, permission_policy: policy } = mcpToolConfig(t, offer.name);
      if (!enabled) continue;
      const name = names.name(server, offer.name);
      definitions.push({ name, ...(offer.description ? { description: offer.description } : {}), input_schema: offer.input_schema as Anthropic.Messages.Tool.InputSchema });
      routes.set(name, { kind: 'mcp', name, server, tool: offer.name, policy });
    }
  }
  return { definitions, route: (name) => routes.get(name) };
}

type McpToolConfig = { enabled: boolean; permission_policy: PermissionPolicy };

/** A tool's own entry in its `mcp_toolset`, else the toolset's `default_config`. */
function mcpToolConfig(toolset: Tool, tool: string): McpToolConfig {
  const own = (toolset.configs as Array<McpToolConfig & { name: string }>).find((c) => c.name === tool);
  return own ?? (toolset.default_config as McpToolConfig);
}

/** Whether the agent (still) has `tool` of `server` enabled. */
export function mcpToolEnabled(agent: SessionAgent, server: string, tool: string): boolean {
  const t = (agent.tools as Tool[]).find((x) => x.type === 'mcp_toolset' && x.mcp_server_name === server);
  return t !== undefined && (agent.mcp_servers as Array<{ name: string }>).some((s) => s.name === server) && mcpToolConfig(t, tool).enabled;
}

/** The MCP servers of an agent that may have a tool to offer (a toolset with everything disabled needs no connection). */
export function mcpServersInUse(agent: SessionAgent): string[] {
  return (agent.tools as Tool[]).flatMap((t) => {
    if (t.type !== 'mcp_toolset') return [];
    const any = (t.default_config as McpToolConfig).enabled || (t.configs as McpToolConfig[]).some((c) => c.enabled);
    return any ? [t.mcp_server_name as string] : [];
  });
}

/** `evaluated_permission` and `evaluation` of an `agent.tool_use`, from its policy. */
export function evaluate(policy: PermissionPolicy): { evaluated_permission: 'allow' | 'ask'; evaluation: Sdk.BetaManagedAgentsAgentToolEvaluation } {
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
