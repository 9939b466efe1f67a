import type Anthropic from '@anthropic-ai/sdk';
import type { Session } from '../domain/sessions.js';
import type { ToolOutcome } from './tool-executor.js';

/**
 * The MCP port: how the runtime reaches the tools of a session's MCP servers. The runtime decides
 * which tools the model is offered and whether a call runs (enabled, permission policy,
 * confirmations); the port connects, authenticates, lists and calls (src/mcp/).
 */

/** One tool an MCP server offers, under its own name. */
export interface McpToolOffer {
  server: string;
  name: string;
  description?: string;
  /** As the server listed it (the MCP SDK checks that it describes an object). */
  input_schema: Anthropic.Messages.Tool.InputSchema;
}

/** Why a server could not be used; the message is safe to log and show (names, never secrets). */
export interface McpFailure {
  kind: 'connection' | 'authentication';
  server: string;
  message: string;
}

export type McpCallOutcome = ({ kind: 'result' } & ToolOutcome) | { kind: 'failure'; failure: McpFailure };

export interface McpPort {
  /** The tools of the named servers of the session's agent, listed (connecting first if need be) within a bounded time. */
  tools(session: Session, servers: string[], signal: AbortSignal): Promise<{ offers: McpToolOffer[]; failures: McpFailure[] }>;
  /** Calls one tool; a server that cannot be reached or refuses the credential is a failure, anything the server answers is a result. */
  call(session: Session, server: string, tool: string, input: Record<string, unknown>, signal: AbortSignal): Promise<McpCallOutcome>;
  /** The session ended (archived, deleted): close its connections. */
  release(sessionId: string): Promise<void>;
  close(): Promise<void>;
}
