import type Anthropic from '@anthropic-ai/sdk';
import type { PermissionPolicy } from '../domain/agent-config.js';
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
  return { definitions, route: (name) => routes.get(name) };
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
