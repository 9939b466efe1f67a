import { Type, type Static, type TLiteral, type TObject, type TSchema } from '@sinclair/typebox';
import { CLIENT_EVENT_TYPES } from '../../domain/event-params.js';
import { Literals, Nullable, Opt, Order, PageQuery, Timestamp } from './common.js';

/** Session events a client sends (wire-contract §5), and the event list and stream queries. */

const MAX_TEXT = 1_000_000;

/** A string of at most `max` characters, with the event API's wording. */
const Text = (max = MAX_TEXT, options: Record<string, unknown> = {}) =>
  Type.String({ maxLength: max, 'x-error': { maxLength: `at most ${max} characters` }, ...options });

const source = {
  base64: Type.Object({ type: Type.Literal('base64'), data: Text(50_000_000), media_type: Text(255) }),
  text: Type.Object({ type: Type.Literal('text'), data: Text() }),
  url: Type.Object({
    type: Type.Literal('url'),
    url: Text(8192, { pattern: '^https?://', 'x-error': { maxLength: 'at most 8192 characters', pattern: 'must be an http(s) URL' } }),
  }),
  file: Type.Object({ type: Type.Literal('file'), file_id: Text(128) }),
};

/** A union of `type`-tagged objects, refusing another type the way the event API words it. */
const OneOf = <T extends TObject[]>(members: [...T]) =>
  Type.Union(members, { 'x-error': { tag: `must be one of ${members.map((m) => (m.properties.type as TLiteral).const).join(', ')}` } });

const TextBlock = Type.Object({ type: Type.Literal('text'), text: Text() });
const blocks = {
  text: TextBlock,
  image: Type.Object({ type: Type.Literal('image'), source: OneOf([source.base64, source.url, source.file]) }),
  document: Type.Object({
    type: Type.Literal('document'),
    source: OneOf([source.base64, source.text, source.url, source.file]),
    title: Opt(Text(500)),
    context: Opt(Text()),
  }),
  redacted: Type.Object({ type: Type.Literal('redacted') }),
  search_result: Type.Object({
    type: Type.Literal('search_result'),
    source: Text(8192),
    title: Text(1000),
    content: Type.Array(TextBlock, { 'x-error': { type: 'must be a list of text blocks' } }),
    citations: Type.Optional(Type.Unknown()),
  }),
};

/** Types of checked input, for the domain (src/domain/event-params.ts). */
export type SourceInput = Static<(typeof source)[keyof typeof source]>;
export type ContentBlockInput = Static<(typeof blocks)[keyof typeof blocks]>;

const Content = <T extends TObject[]>(members: [...T], options: Record<string, unknown> = {}) =>
  Type.Array(OneOf(members), { 'x-error': { type: 'must be a list of content blocks' }, ...options });

const thread = { session_thread_id: Opt(Text(128)) };
const ResultContent = Opt(Content([blocks.text, blocks.image, blocks.document, blocks.search_result]));

export const ClientEvent = {
  'user.message': Type.Object({
    type: Type.Literal('user.message'),
    content: Content([blocks.text, blocks.image, blocks.document, blocks.redacted], { minItems: 1 }),
  }),
  'user.interrupt': Type.Object({ type: Type.Literal('user.interrupt'), ...thread }),
  'user.tool_confirmation': Type.Object({
    type: Type.Literal('user.tool_confirmation'),
    tool_use_id: Text(128),
    result: Literals(['allow', 'deny']),
    // Only with result deny: the domain decides.
    deny_message: Opt(Text(10_000)),
    ...thread,
  }),
  'user.custom_tool_result': Type.Object({
    type: Type.Literal('user.custom_tool_result'),
    custom_tool_use_id: Text(128),
    content: ResultContent,
    is_error: Opt(Type.Boolean()),
    ...thread,
  }),
  'user.tool_result': Type.Object({
    type: Type.Literal('user.tool_result'),
    tool_use_id: Text(128),
    content: ResultContent,
    is_error: Opt(Type.Boolean()),
    ...thread,
  }),
  'user.define_outcome': Type.Object({
    type: Type.Literal('user.define_outcome'),
    description: Text(10_000),
    rubric: Type.Union([Type.Object({ type: Type.Literal('text'), content: Text(262_144) }), Type.Object({ type: Type.Literal('file'), file_id: Text(128) })], {
      'x-error': 'must be {type: text, content} or {type: file, file_id}',
    }),
    max_iterations: Opt(Type.Integer({ minimum: 1, maximum: 20, 'x-error': 'must be an integer from 1 to 20' })),
  }),
  'system.message': Type.Object({
    type: Type.Literal('system.message'),
    content: Content([blocks.text], { minItems: 1, maxItems: 1000 }),
  }),
} satisfies Record<(typeof CLIENT_EVENT_TYPES)[number], TSchema>;

export type ClientEventInput = Static<(typeof ClientEvent)[keyof typeof ClientEvent]>;

const NON_EMPTY = 'must be a non-empty list of events';

/** A non-empty list of at most `max` events of the given types; `tooMany` words the limit. */
export const EventList = (types: ReadonlyArray<keyof typeof ClientEvent>, max: number, tooMany: string) =>
  Type.Array(OneOf(types.map((t) => ClientEvent[t])), {
    minItems: 1,
    maxItems: max,
    'x-error': { type: NON_EMPTY, required: NON_EMPTY, minItems: NON_EMPTY, maxItems: tooMany },
  });

export const SendEvents = Type.Object({
  events: EventList(CLIENT_EVENT_TYPES, 100, 'at most 100 events per request'),
});

export const EventListQuery = Type.Object({
  order: Type.Optional(Order),
  types: Type.Optional(Type.Array(Type.String(), { description: 'Only events of these types.' })),
  'created_at[gt]': Type.Optional(Timestamp),
  'created_at[gte]': Type.Optional(Timestamp),
  'created_at[lt]': Type.Optional(Timestamp),
  'created_at[lte]': Type.Optional(Timestamp),
  ...PageQuery(1000),
});

export const DELTA_TYPES = ['agent.message', 'agent.thinking'] as const;
export const EventStreamQuery = Type.Object({
  event_deltas: Type.Optional(Type.Array(Literals(DELTA_TYPES, { 'x-error': `must be among ${DELTA_TYPES.join(', ')}` }))),
  after_id: Type.Optional(Type.String({ description: 'Resume after this event (as Last-Event-ID does).' })),
});

/** A stored event as lists and streams show it: its type-specific fields are the SDK's. */
export const SessionEvent = Type.Object({ id: Type.String(), type: Type.String(), processed_at: Nullable(Type.String()) });

/** The JSON in an SSE frame's `data:` line (OpenAPI 3.1 `contentSchema`, which fuzzers check). */
const jsonData = (schema: TSchema) => Type.String({ contentMediaType: 'application/json', contentSchema: schema });
/** Frames that are not session events; every other `event:` name is the `type` of the event in `data`. */
const CONTROL_FRAMES = ['ping', 'error', 'event_start', 'event_delta'] as const;

/**
 * One frame of an event stream as OpenAPI before 3.2 describes a `text/event-stream` body: each
 * event as `{event, data, id?}`. A stored event carries its id as the frame's `id:` (for
 * Last-Event-ID); pings, a stream's closing error and the opted-in previews have none.
 */
export const StreamFrame = Type.Union(
  [
    Type.Object({ event: Type.String({ not: { enum: [...CONTROL_FRAMES] } }), id: Type.Optional(Type.String()), data: jsonData(SessionEvent) }),
    Type.Object({ event: Type.Literal('ping'), data: jsonData(Type.Object({}, { additionalProperties: false })) }),
    Type.Object({
      event: Type.Literal('error'),
      data: jsonData(Type.Object({ type: Type.Literal('error'), error: Type.Object({ type: Type.String(), message: Type.String() }) })),
    }),
    Type.Object({
      event: Type.Literal('event_start'),
      data: jsonData(Type.Object({ type: Type.Literal('event_start'), event: Type.Object({ type: Literals(DELTA_TYPES), id: Type.String() }) })),
    }),
    Type.Object({
      event: Type.Literal('event_delta'),
      data: jsonData(
        Type.Object({
          type: Type.Literal('event_delta'),
          event_id: Type.String(),
          delta: Type.Object({
            type: Type.Literal('content_delta'),
            index: Type.Integer({ minimum: 0 }),
            content: Type.Object({ type: Type.Literal('text'), text: Type.String() }),
          }),
        }),
      ),
    }),
  ],
  { description: 'One server-sent event' },
);
