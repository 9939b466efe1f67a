import { invalid } from './errors.js';
import { newId } from './ids.js';
import type { NewEvent } from './event-log.js';

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

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function reqStr(v: unknown, field: string, max = MAX_TEXT): string {
  if (typeof v !== 'string') throw invalid(`${field}: must be a string`);
  if (v.length > max) throw invalid(`${field}: at most ${max} characters`);
  return v;
}

function source(v: unknown, field: string, kinds: string[]): Record<string, unknown> {
  if (!isObj(v) || !kinds.includes(v.type as string)) throw invalid(`${field}.type: must be one of ${kinds.join(', ')}`);
  switch (v.type) {
    case 'base64':
      return { type: 'base64', data: reqStr(v.data, `${field}.data`, 50_000_000), media_type: reqStr(v.media_type, `${field}.media_type`, 255) };
    case 'text':
      return { type: 'text', data: reqStr(v.data, `${field}.data`), media_type: 'text/plain' };
    case 'url': {
      const url = reqStr(v.url, `${field}.url`, 8192);
      if (!/^https?:\/\//.test(url)) throw invalid(`${field}.url: must be an http(s) URL`);
      return { type: 'url', url };
    }
    case 'file':
      return { type: 'file', file_id: reqStr(v.file_id, `${field}.file_id`, 128) };
  }
  throw invalid(`${field}: unsupported source`);
}

/** Validates one content block; `allowed` lists the block types this position accepts. */
export function contentBlock(v: unknown, field: string, allowed: string[]): Record<string, unknown> {
  if (!isObj(v)) throw invalid(`${field}: must be a content block object`);
  if (!allowed.includes(v.type as string)) throw invalid(`${field}.type: must be one of ${allowed.join(', ')}`);
  switch (v.type) {
    case 'text':
      return { type: 'text', text: reqStr(v.text, `${field}.text`) };
    case 'image':
      return { type: 'image', source: source(v.source, `${field}.source`, ['base64', 'url', 'file']) };
    case 'document': {
      const out: Record<string, unknown> = { type: 'document', source: source(v.source, `${field}.source`, ['base64', 'text', 'url', 'file']) };
      if (v.title !== undefined) out.title = v.title === null ? null : reqStr(v.title, `${field}.title`, 500);
      if (v.context !== undefined) out.context = v.context === null ? null : reqStr(v.context, `${field}.context`);
      return out;
    }
    case 'redacted':
      return { type: 'redacted' };
    case 'search_result': {
      if (!Array.isArray(v.content)) throw invalid(`${field}.content: must be a list of text blocks`);
      return {
        type: 'search_result',
        source: reqStr(v.source, `${field}.source`, 8192),
        title: reqStr(v.title, `${field}.title`, 1000),
        content: v.content.map((c, i) => contentBlock(c, `${field}.content.${i}`, ['text'])),
        ...(v.citations !== undefined ? { citations: v.citations } : {}),
      };
    }
  }
  throw invalid(`${field}: unsupported content block`);
}

function contentList(v: unknown, field: string, allowed: string[], opts: { required: boolean; max?: number }): Record<string, unknown>[] | undefined {
  if (v === undefined || v === null) {
    if (opts.required) throw invalid(`${field}: required`);
    return undefined;
  }
  if (!Array.isArray(v)) throw invalid(`${field}: must be a list of content blocks`);
  if (opts.required && v.length === 0) throw invalid(`${field}: must not be empty`);
  if (opts.max !== undefined && v.length > opts.max) throw invalid(`${field}: at most ${opts.max} blocks`);
  return v.map((b, i) => contentBlock(b, `${field}.${i}`, allowed));
}

function optThread(v: unknown, field: string): { session_thread_id?: string | null } {
  if (v === undefined) return {};
  if (v === null) return { session_thread_id: null };
  return { session_thread_id: reqStr(v, field, 128) };
}

function optBool(v: unknown, field: string): boolean | null | undefined {
  if (v === undefined || v === null) return v as null | undefined;
  if (typeof v !== 'boolean') throw invalid(`${field}: must be a boolean`);
  return v;
}

const RESULT_BLOCKS = ['text', 'image', 'document', 'search_result'];

/** Validates one client event and returns it in stored form (server fields such as `id` come later). */
export function clientEvent(v: unknown, field: string): NewEvent {
  if (!isObj(v)) throw invalid(`${field}: must be an event object`);
  const type = v.type;
  switch (type) {
    case 'user.message':
      return { type, content: contentList(v.content, `${field}.content`, ['text', 'image', 'document', 'redacted'], { required: true }) };
    case 'user.interrupt':
      return { type, ...optThread(v.session_thread_id, `${field}.session_thread_id`) };
    case 'user.tool_confirmation': {
      if (v.result !== 'allow' && v.result !== 'deny') throw invalid(`${field}.result: must be allow or deny`);
      const out: NewEvent = { type, tool_use_id: reqStr(v.tool_use_id, `${field}.tool_use_id`, 128), result: v.result };
      if (v.deny_message !== undefined && v.deny_message !== null) {
        if (v.result !== 'deny') throw invalid(`${field}.deny_message: only allowed when result is deny`);
        out.deny_message = reqStr(v.deny_message, `${field}.deny_message`, 10_000);
      }
      return { ...out, ...optThread(v.session_thread_id, `${field}.session_thread_id`) };
    }
    case 'user.custom_tool_result':
    case 'user.tool_result': {
      const idField = type === 'user.custom_tool_result' ? 'custom_tool_use_id' : 'tool_use_id';
      const out: NewEvent = { type, [idField]: reqStr(v[idField], `${field}.${idField}`, 128) };
      const content = contentList(v.content, `${field}.content`, RESULT_BLOCKS, { required: false });
      if (content) out.content = content;
      const isError = optBool(v.is_error, `${field}.is_error`);
      if (isError !== undefined) out.is_error = isError;
      return { ...out, ...optThread(v.session_thread_id, `${field}.session_thread_id`) };
    }
    case 'user.define_outcome': {
      const r = v.rubric;
      let rubric: Record<string, unknown>;
      if (isObj(r) && r.type === 'text') rubric = { type: 'text', content: reqStr(r.content, `${field}.rubric.content`, 262_144) };
      else if (isObj(r) && r.type === 'file') rubric = { type: 'file', file_id: reqStr(r.file_id, `${field}.rubric.file_id`, 128) };
      else throw invalid(`${field}.rubric: must be {type: text, content} or {type: file, file_id}`);
      let maxIterations: number | null = 3;
      if (v.max_iterations !== undefined && v.max_iterations !== null) {
        if (!Number.isInteger(v.max_iterations) || (v.max_iterations as number) < 1 || (v.max_iterations as number) > 20) {
          throw invalid(`${field}.max_iterations: must be an integer from 1 to 20`);
        }
        maxIterations = v.max_iterations as number;
      }
      return { type, description: reqStr(v.description, `${field}.description`, 10_000), rubric, max_iterations: maxIterations, outcome_id: newId('outcome') };
    }
    case 'system.message':
      return { type, content: contentList(v.content, `${field}.content`, ['text'], { required: true, max: 1000 }) };
    default:
      throw invalid(`${field}.type: must be one of ${CLIENT_EVENT_TYPES.join(', ')}`);
  }
}

/** Validates a send-events body: the list, each event, and the placement rules for system.message. */
export function clientEvents(body: unknown, opts: { field?: string; allowed?: readonly string[] } = {}): NewEvent[] {
  const field = opts.field ?? 'events';
  const list = isObj(body) && opts.field === undefined ? body.events : body;
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
