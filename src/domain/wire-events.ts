import type {
  BetaManagedAgentsAgentThreadContextCompactedEvent,
  BetaManagedAgentsDocumentBlock,
  BetaManagedAgentsImageBlock,
  BetaManagedAgentsRedactedBlock,
  BetaManagedAgentsSearchResultBlock,
  BetaManagedAgentsSessionEvent,
  BetaManagedAgentsTextBlock,
  BetaManagedAgentsUserCustomToolResultEvent,
} from '@anthropic-ai/sdk/resources/beta/sessions/events';
import type { BetaManagedAgentsUserToolResultEvent } from '@anthropic-ai/sdk/resources/beta/sessions/sessions';

/**
 * Session events as Paddock logs and serves them: the SDK's event union, plus the few extras
 * Paddock documents (test/conformance/wire-shapes.test.ts lists each with its reason). Events are
 * written from these types, so a field the SDK does not declare fails the build here first.
 */

export type TextBlock = BetaManagedAgentsTextBlock;
export type ImageBlock = BetaManagedAgentsImageBlock;
export type DocumentBlock = BetaManagedAgentsDocumentBlock;
export type RedactedBlock = BetaManagedAgentsRedactedBlock;

/**
 * A client's `search_result` block as stored: `citations` is kept as the client sent it, or left
 * out when it sent none (the SDK declares it required; Paddock does not invent a value).
 */
export type StoredSearchResultBlock = Omit<BetaManagedAgentsSearchResultBlock, 'citations'> & { citations?: unknown };

/** Content of tool results (`user.*tool_result`, `agent.*tool_result`). */
export type ResultBlock = TextBlock | ImageBlock | DocumentBlock | StoredSearchResultBlock;

/** Content of `user.message`. */
export type MessageBlock = TextBlock | ImageBlock | DocumentBlock | RedactedBlock;

/** Any content block an event carries. */
export type EventBlock = ResultBlock | RedactedBlock;

type CompactedEvent = BetaManagedAgentsAgentThreadContextCompactedEvent;
type UserToolResult = BetaManagedAgentsUserToolResultEvent;
type UserCustomToolResult = BetaManagedAgentsUserCustomToolResultEvent;
type WithResultBlocks<E> = Omit<E, 'content'> & { content?: ResultBlock[] };

/** An event in the log. Every logged event has been processed, so `processed_at` is always set. */
export type SessionEvent = (
  | Exclude<BetaManagedAgentsSessionEvent, CompactedEvent | UserToolResult | UserCustomToolResult>
  // The concept docs promise that a compaction event "includes pre_compaction_tokens".
  | (CompactedEvent & { pre_compaction_tokens: number })
  | WithResultBlocks<UserToolResult>
  | WithResultBlocks<UserCustomToolResult>
) & { processed_at: string };

export type SessionEventType = SessionEvent['type'];

/** The logged event of one type. */
export type EventOf<T extends SessionEventType> = Extract<SessionEvent, { type: T }>;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * An event to append: the log stamps `processed_at` and gives it an id, unless the writer fixed
 * the id beforehand (a preview already announced it, or a record was filed under it).
 */
export type NewEvent = DistributiveOmit<SessionEvent, 'id' | 'processed_at'> & { id?: string };
