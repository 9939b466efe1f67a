import { invalid } from './errors.js';
import { newId } from './ids.js';
import { isObject } from './validate.js';
import type { DocumentBlock, EventOf, ImageBlock, MessageBlock, NewEvent, RedactedBlock, ResultBlock, StoredSearchResultBlock, TextBlock } from './wire-events.js';

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

const MAX_EVENTS_PER_REQUEST = 100;
const MAX_TEXT = 1_000_000;

function reqStr(v: unknown, field: string, max = MAX_TEXT): string {
  if (typeof v !== 'string') throw invalid(`${field}: must be a string`);
  if (v.length > max) throw invalid(`${field}: at most ${max} characters`);
  return v;
}

type Obj = Record<string, unknown>;
/** Parsers of the object kinds a position accepts, by `type`, in the order error messages list them. */
type ByType<T> = Record<string, (v: Obj, field: string) => T>;

/** Dispatches on `v.type` to the parser of that kind; any other kind is a 400 naming the accepted ones. */
function byType<T>(v: unknown, field: string, parsers: ByType<T>, notObject?: string): T {
  const unknownType = () => invalid(`${field}.type: must be one of ${Object.keys(parsers).join(', ')}`);
  if (!isObject(v)) throw notObject ? invalid(notObject) : unknownType();
  const parse = typeof v.type === 'string' && Object.hasOwn(parsers, v.type) ? parsers[v.type] : undefined;
  if (!parse) throw unknownType();
  return parse(v, field);
}

type Source<T> = Extract<ImageBlock['source'] | DocumentBlock['source'], { type: T }>;

const base64 = (v: Obj, field: string): Source<'base64'> => ({ type: 'base64', data: reqStr(v.data, `${field}.data`, 50_000_000), media_type: reqStr(v.media_type, `${field}.media_type`, 255) });
const plainText = (v: Obj, field: string): Source<'text'> => ({ type: 'text', data: reqStr(v.data, `${field}.data`), media_type: 'text/plain' });
function url(v: Obj, field: string): Source<'url'> {
  const url = reqStr(v.url, `${field}.url`, 8192);
  if (!/^https?:\/\//.test(url)) throw invalid(`${field}.url: must be an http(s) URL`);
  return { type: 'url', url };
}
const file = (v: Obj, field: string): Source<'file'> => ({ type: 'file', file_id: reqStr(v.file_id, `${field}.file_id`, 128) });

const IMAGE_SOURCES: ByType<ImageBlock['source']> = { base64, url, file };
const DOCUMENT_SOURCES: ByType<DocumentBlock['source']> = { base64, text: plainText, url, file };

const text = (v: Obj, field: string): TextBlock => ({ type: 'text', text: reqStr(v.text, `${field}.text`) });
const image = (v: Obj, field: string): ImageBlock => ({ type: 'image', source: byType(v.source, `${field}.source`, IMAGE_SOURCES) });
function document(v: Obj, field: string): DocumentBlock {
  const out: DocumentBlock = { type: 'document', source: byType(v.source, `${field}.source`, DOCUMENT_SOURCES) };
  if (v.title !== undefined) out.title = v.title === null ? null : reqStr(v.title, `${field}.title`, 500);
  if (v.context !== undefined) out.context = v.context === null ? null : reqStr(v.context, `${field}.context`);
  return out;
}
const redacted = (): RedactedBlock => ({ type: 'redacted' });
function searchResult(v: Obj, field: string): StoredSearchResultBlock {
  if (!Array.isArray(v.content)) throw invalid(`${field}.content: must be a list of text blocks`);
  return {
    type: 'search_result',
    source: reqStr(v.source, `${field}.source`, 8192),
    title: reqStr(v.title, `${field}.title`, 1000),
    content: v.content.map((c, i) => contentBlock(c, `${field}.content.${i}`, TEXT_BLOCKS)),
    ...(v.citations !== undefined ? { citations: v.citations } : {}),
  };
}

/** The block types each position accepts. */
const TEXT_BLOCKS: ByType<TextBlock> = { text };
const MESSAGE_BLOCKS: ByType<MessageBlock> = { text, image, document, redacted };
const RESULT_BLOCKS: ByType<ResultBlock> = { text, image, document, search_result: searchResult };

/** Validates one content block of a kind the position accepts. */
export function contentBlock<B>(v: unknown, field: string, allowed: ByType<B>): B {
  return byType(v, field, allowed, `${field}: must be a content block object`);
}

function blocks<B>(v: unknown, field: string, allowed: ByType<B>, opts: { nonEmpty?: boolean; max?: number } = {}): B[] {
  if (!Array.isArray(v)) throw invalid(`${field}: must be a list of content blocks`);
  if (opts.nonEmpty && v.length === 0) throw invalid(`${field}: must not be empty`);
  if (opts.max !== undefined && v.length > opts.max) throw invalid(`${field}: at most ${opts.max} blocks`);
  return v.map((b, i) => contentBlock(b, `${field}.${i}`, allowed));
}

/** A content list that must be given and not empty. */
function requiredBlocks<B>(v: unknown, field: string, allowed: ByType<B>, max?: number): B[] {
  if (v === undefined || v === null) throw invalid(`${field}: required`);
  return blocks(v, field, allowed, { nonEmpty: true, max });
}

function optThread(v: unknown, field: string): { session_thread_id?: string | null } {
  if (v === undefined) return {};
  if (v === null) return { session_thread_id: null };
  return { session_thread_id: reqStr(v, field, 128) };
}

function optBool(v: unknown, field: string): boolean | null | undefined {
  if (v === undefined || v === null) return v;
  if (typeof v !== 'boolean') throw invalid(`${field}: must be a boolean`);
  return v;
}

/** `content` and `is_error` of a tool result, each only when given. */
function resultBody(v: Obj, field: string): { content?: ResultBlock[]; is_error?: boolean | null } {
  const out: { content?: ResultBlock[]; is_error?: boolean | null } = {};
  if (v.content !== undefined && v.content !== null) out.content = blocks(v.content, `${field}.content`, RESULT_BLOCKS);
  const isError = optBool(v.is_error, `${field}.is_error`);
  if (isError !== undefined) out.is_error = isError;
  return out;
}

/** Validates one client event and returns it in stored form (server fields such as `id` come later). */
export function clientEvent(v: unknown, field: string): NewEvent {
  if (!isObject(v)) throw invalid(`${field}: must be an event object`);
  const type = v.type;
  switch (type) {
    case 'user.message':
      return { type, content: requiredBlocks(v.content, `${field}.content`, MESSAGE_BLOCKS) };
    case 'user.interrupt':
      return { type, ...optThread(v.session_thread_id, `${field}.session_thread_id`) };
    case 'user.tool_confirmation': {
      const result = v.result;
      if (result !== 'allow' && result !== 'deny') throw invalid(`${field}.result: must be allow or deny`);
      const out: NewEvent = { type, tool_use_id: reqStr(v.tool_use_id, `${field}.tool_use_id`, 128), result };
      if (v.deny_message !== undefined && v.deny_message !== null) {
        if (result !== 'deny') throw invalid(`${field}.deny_message: only allowed when result is deny`);
        out.deny_message = reqStr(v.deny_message, `${field}.deny_message`, 10_000);
      }
      return { ...out, ...optThread(v.session_thread_id, `${field}.session_thread_id`) };
    }
    case 'user.custom_tool_result': {
      const custom_tool_use_id = reqStr(v.custom_tool_use_id, `${field}.custom_tool_use_id`, 128);
      return { type, custom_tool_use_id, ...resultBody(v, field), ...optThread(v.session_thread_id, `${field}.session_thread_id`) };
    }
    case 'user.tool_result': {
      const tool_use_id = reqStr(v.tool_use_id, `${field}.tool_use_id`, 128);
      return { type, tool_use_id, ...resultBody(v, field), ...optThread(v.session_thread_id, `${field}.session_thread_id`) };
    }
    case 'user.define_outcome': {
      const r = v.rubric;
      let rubric: EventOf<'user.define_outcome'>['rubric'];
      if (isObject(r) && r.type === 'text') rubric = { type: 'text', content: reqStr(r.content, `${field}.rubric.content`, 262_144) };
      else if (isObject(r) && r.type === 'file') rubric = { type: 'file', file_id: reqStr(r.file_id, `${field}.rubric.file_id`, 128) };
      else throw invalid(`${field}.rubric: must be {type: text, content} or {type: file, file_id}`);
      let maxIterations: number | null = 3;
      const m = v.max_iterations;
      if (m !== undefined && m !== null) {
        if (typeof m !== 'number' || !Number.isInteger(m) || m < 1 || m > 20) throw invalid(`${field}.max_iterations: must be an integer from 1 to 20`);
        maxIterations = m;
      }
      return { type, description: reqStr(v.description, `${field}.description`, 10_000), rubric, max_iterations: maxIterations, outcome_id: newId('outcome') };
    }
    case 'system.message':
      return { type, content: requiredBlocks(v.content, `${field}.content`, TEXT_BLOCKS, 1000) };
    default:
      throw invalid(`${field}.type: must be one of ${CLIENT_EVENT_TYPES.join(', ')}`);
  }
}

/** Validates a send-events body: the list, each event, and the placement rules for system.message. */
export function clientEvents(body: unknown, opts: { field?: string; allowed?: readonly string[] } = {}): NewEvent[] {
  const field = opts.field ?? 'events';
  const list = isObject(body) && opts.field === undefined ? body.events : body;
  if (!Array.isArray(list) || list.length === 0) throw invalid(`${field}: must be a non-empty list of events`);
  if (list.length > MAX_EVENTS_PER_REQUEST) throw invalid(`${field}: at most ${MAX_EVENTS_PER_REQUEST} events per request`);
  const events = list.map((e, i) => clientEvent(e, `${field}.${i}`));
  if (opts.allowed) {
    events.forEach((e, i) => {
      if (!opts.allowed!.includes(e.type)) throw invalid(`${field}.${i}.type: must be one of ${opts.allowed!.join(', ')}`);
    });
  }
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
