import type Anthropic from '@anthropic-ai/sdk';
import type { Environment } from '../domain/environments.js';
import type { Session } from '../domain/sessions.js';

/**
 * The tool port: how the runtime runs the built-in tools of `agent_toolset_20260401`. The
 * runtime decides *whether* a tool runs (enabled, permission policy, confirmations); an executor
 * decides *how* (in a bubblewrap sandbox, on a self-hosted worker, or not at all).
 */

export type ToolResultBlock = { type: 'text'; text: string } | { type: 'image'; source: { type: 'base64'; media_type: string; data: string } };

export interface ToolOutcome {
  content: ToolResultBlock[];
  is_error: boolean;
  /**
   * The call failed because the session's sandbox could not be prepared (e.g. the environment's
   * packages did not install): logged as a `session.error` right after the result. One that is
   * not `retrying` ends the turn, and the turn's other tool calls are not run.
   */
  sessionError?: SessionErrorObject;
}

/** `session.error.error`, as the SDK types it. */
export type SessionErrorObject = Anthropic.Beta.Sessions.BetaManagedAgentsSessionErrorEvent['error'];

export interface ToolCall {
  session: Session;
  environment: Environment;
  /** The `agent.tool_use` event id. */
  toolUseId: string;
  name: string;
  input: Record<string, unknown>;
  /** Aborted on `user.interrupt`, session delete or shutdown: stop the tool and its processes. */
  signal: AbortSignal;
}

/** What the model is told about a built-in tool. */
export type ToolDefinition =
  /** A tool Paddock runs itself. */
  | { kind: 'client'; name: string; description: string; input_schema: Record<string, unknown> }
  /** A tool the model provider runs server-side (e.g. web search), passed through as given. */
  | { kind: 'server'; name: string; tool: Record<string, unknown> };

export interface ToolExecutor {
  /** Definitions for the given built-in tool names (enabled ones only are asked for). */
  definitions(names: string[], config: Record<string, Record<string, unknown>>): ToolDefinition[];
  execute(call: ToolCall): Promise<ToolOutcome>;
  /**
   * True when running the tool twice is harmless (read, glob, grep): after a crash between a
   * tool_use and its result, such a call is re-run; any other gets an is_error result instead.
   */
  isReadOnly(name: string): boolean;
  /** After each turn: e.g. capture files written to /mnt/session/outputs. */
  afterTurn?(session: Session): Promise<void>;
  /** The session is archived or deleted (or idle too long): tear its sandbox down. */
  release?(sessionId: string, reason: 'archived' | 'deleted' | 'idle'): Promise<void>;
  close?(): Promise<void>;
}

/** Used until a sandbox provider is configured: every built-in tool call fails clearly. */
export class UnavailableToolExecutor implements ToolExecutor {
  constructor(private readonly reason = 'no sandbox provider is configured on this Paddock server') {}

  definitions(names: string[]): ToolDefinition[] {
    return names.map((name) => ({
      kind: 'client' as const,
      name,
      description: `Built-in ${name} tool (unavailable on this server: ${this.reason}).`,
      input_schema: { type: 'object', properties: {}, additionalProperties: true },
    }));
  }

  async execute(call: ToolCall): Promise<ToolOutcome> {
    return { is_error: true, content: [{ type: 'text', text: `The ${call.name} tool is unavailable: ${this.reason}.` }] };
  }

  isReadOnly(): boolean {
    return false;
  }
}
