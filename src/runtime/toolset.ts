import type Anthropic from '@anthropic-ai/sdk';
import type { PermissionPolicy, Tool } from '../domain/agent-config.js';
import type { SessionAgent } from '../domain/sessions.js';
import type { EventOf } from '../domain/wire-events.js';
import type { ToolExecutor } from './tool-executor.js';

/** How the runtime treats a tool the model may call, by the name the model uses. */
export type ToolRoute =
  | { kind: 'builtin'; name: string; policy: PermissionPolicy }
  | { kind: 'custom'; name: string };

export interface Toolset {
  /** The `tools` of a Messages API request. */
  definitions: Anthropic.Messages.ToolUnion[];
  route(name: string): ToolRoute | undefined;
}

/**
 * The tools of a session's agent, as the model sees them: enabled built-ins (defined by the tool
 * executor) and custom tools. MCP toolsets are resolved by the MCP client, not here.
 */
export function toolsetFor(agent: SessionAgent, executor: ToolExecutor): Toolset {
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
  return { definitions, route: (name) => routes.get(name) };
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
