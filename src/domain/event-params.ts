import { invalid } from './errors.js';
import { newId } from './ids.js';
import type { ClientEventInput, ContentBlockInput, SourceInput } from '../http/schemas/events.js';
import type { DocumentBlock, EventBlock, EventOf, ImageBlock, MessageBlock, NewEvent, ResultBlock, StoredSearchResultBlock, TextBlock } from './wire-events.js';

/** Event types a client may send (wire-contract §5). */
export const CLIENT_EVENT_TYPES = [
  'user.message',
  'user.interrupt',
  'user.tool_confirmation',
  'user.custom_tool_result',
  'user.tool_result',
  'user.define_outcome',
  'system.message',
] as const;

/*
 * Types, lengths and the list sizes are checked at the route edge (src/http/schemas/events.ts).
 * Here each event is rebuilt in its stored form (the SDK's types, src/domain/wire-events.ts), with
 * only the fields the API defines, and the rules that span fields or events are applied.
 */

type BlockIn<T extends ContentBlockInput['type']> = Extract<ContentBlockInput, { type: T }>;

/** Images take no plain-text source; the schema refuses one. */
function source(v: Exclude<SourceInput, { type: 'text' }>): ImageBlock['source'];
function source(v: SourceInput): DocumentBlock['source'];
function source(v: SourceInput): DocumentBlock['source'] {
  switch (v.type) {
    case 'base64':
      return { type: 'base64', data: v.data, media_type: v.media_type };
    case 'text':
      return { type: 'text', data: v.data, media_type: 'text/plain' };
    case 'url':
      return { type: 'url', url: v.url };
    case 'file':
      return { type: 'file', file_id: v.file_id };
  }
}

const text = (v: BlockIn<'text'>): TextBlock => ({ type: 'text', text: v.text });

function document(v: BlockIn<'document'>): DocumentBlock {
  const out: DocumentBlock = { type: 'document', source: source(v.source) };
  if (v.title !== undefined) out.title = v.title;
  if (v.context !== undefined) out.context = v.context;
  return out;
}

function searchResult(v: BlockIn<'search_result'>): StoredSearchResultBlock {
  return {
    type: 'search_result',
    source: v.source,
    title: v.title,
    content: v.content.map(text),
    ...(v.citations !== undefined ? { citations: v.citations } : {}),
  };
}

/** One content block in stored form; each position (message, tool result, system) keeps its own kinds. */
function block(v: BlockIn<'text'>): TextBlock;
function block(v: BlockIn<'text' | 'image' | 'document' | 'redacted'>): MessageBlock;
function block(v: BlockIn<'text' | 'image' | 'document' | 'search_result'>): ResultBlock;
function block(v: ContentBlockInput): EventBlock {
  switch (v.type) {
    case 'text':
      return text(v);
    case 'image':
      return { type: 'image', source: source(v.source) };
    case 'document':
      return document(v);
    case 'redacted':
      return { type: 'redacted' };
    case 'search_result':
      return searchResult(v);
  }
}

type ToolResultIn = Extract<ClientEventInput, { type: 'user.tool_result' | 'user.custom_tool_result' }>;

/** `content` and `is_error` of a tool result, each only when given. */
function resultBody(v: ToolResultIn): { content?: ResultBlock[]; is_error?: boolean | null } {
  const out: { content?: ResultBlock[]; is_error?: boolean | null } = {};
  if (v.content !== undefined && v.content !== null) out.content = v.content.map((b) => block(b));
  if (v.is_error !== undefined) out.is_error = v.is_error;
  return out;
}

function optThread(v: string | null | undefined): { session_thread_id?: string | null } {
  return v === undefined ? {} : { session_thread_id: v };
}

/** One client event in stored form (server fields such as `id` come later). */
export function clientEvent(v: ClientEventInput, field: string): NewEvent {
  switch (v.type) {
    case 'user.message':
      return { type: v.type, content: v.content.map((b) => block(b)) };
    case 'system.message':
      return { type: v.type, content: v.content.map((b) => block(b)) };
    case 'user.interrupt':
      return { type: v.type, ...optThread(v.session_thread_id) };
    case 'user.tool_confirmation': {
      const out: NewEvent = { type: v.type, tool_use_id: v.tool_use_id, result: v.result };
      if (v.deny_message !== undefined && v.deny_message !== null) {
        if (v.result !== 'deny') throw invalid(`${field}.deny_message: only allowed when result is deny`);
        out.deny_message = v.deny_message;
      }
      return { ...out, ...optThread(v.session_thread_id) };
    }
    case 'user.custom_tool_result':
      return { type: v.type, custom_tool_use_id: v.custom_tool_use_id, ...resultBody(v), ...optThread(v.session_thread_id) };
    case 'user.tool_result':
      return { type: v.type, tool_use_id: v.tool_use_id, ...resultBody(v), ...optThread(v.session_thread_id) };
    case 'user.define_outcome': {
      const r = v.rubric;
      const rubric: EventOf<'user.define_outcome'>['rubric'] = r.type === 'text' ? { type: 'text', content: r.content } : { type: 'file', file_id: r.file_id };
      return { type: v.type, description: v.description, rubric, max_iterations: v.max_iterations ?? 3, outcome_id: newId('outcome') };
    }
  }
}

/** A list of client events in stored form, with the placement rules for system.message. */
export function clientEvents(list: ClientEventInput[], field = 'events'): NewEvent[] {
  const events = list.map((e, i) => clientEvent(e, `${field}.${i}`));
  const systemIdx = events.map((e, i) => (e.type === 'system.message' ? i : -1)).filter((i) => i >= 0);
  if (systemIdx.length > 1) throw invalid(`${field}: at most one system.message per request`);
  if (systemIdx.length === 1) {
    const i = systemIdx[0];
    if (i !== events.length - 1) throw invalid(`${field}.${i}: system.message must be the last event`);
    const prev = events[i - 1]?.type;
    if (!['user.message', 'user.tool_result', 'user.custom_tool_result'].includes(prev ?? '')) {
      throw invalid(`${field}.${i}: system.message must directly follow a user.message, user.tool_result or user.custom_tool_result`);
    }
  }
  return events;
}
