import { Type, type TSchema } from '@sinclair/typebox';
import { MAX_INT } from '../query.js';

/** Shared schema pieces: nullability, metadata, list queries and pages, the error envelope. */

export const Nullable = <T extends TSchema>(s: T) => Type.Union([s, Type.Null()]);
/** A field that may be omitted or null (null takes the default, or clears). */
export const Opt = <T extends TSchema>(s: T) => Type.Optional(Nullable(s));

export const Literals = <const T extends string>(values: readonly T[], options: Record<string, unknown> = {}) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  );

/** A string of `min`–`max` characters. */
export const Str = (max: number, min = 0, options: Record<string, unknown> = {}) =>
  Type.String({ ...(min ? { minLength: min } : {}), maxLength: max, ...options });

/** An RFC 3339 timestamp (src/domain/time.ts decides). */
export const Timestamp = Type.String({ format: 'date-time' });

/** An absolute http(s) URL; `error` is the message for anything else. */
export const HttpUrl = (max: number, error: string, options: Record<string, unknown> = {}) =>
  Type.String({ maxLength: max, format: 'uri', pattern: '^[Hh][Tt][Tt][Pp][Ss]?:', 'x-error': error, ...options });

/** Metadata bag limits (wire-contract §0.8); the pair count of a patch is the domain's. */
export const METADATA_LIMITS = { pairs: 16, key: 64, value: 512 };

const metadataBag = <T extends TSchema>(value: T) =>
  Type.Record(Type.String({ pattern: `^[\\s\\S]{1,${METADATA_LIMITS.key}}$` }), value, {
    additionalProperties: false,
    'x-error': { type: 'must be an object of strings', additionalProperties: `keys must be 1-${METADATA_LIMITS.key} characters` },
  });
const metadataValue = Str(METADATA_LIMITS.value, 0, { 'x-error': { maxLength: `at most ${METADATA_LIMITS.value} characters` } });

/** Metadata as given at create: string values. */
export const Metadata = metadataBag(metadataValue);
/** Metadata as an update patch: a string upserts, null deletes, an omitted key stays. */
export const MetadataPatch = metadataBag(Nullable(metadataValue));

/** Query pieces. */
export const QueryBool = Type.Boolean({ 'x-error': 'must be true or false' });
export const QueryInt = (min: number, max = MAX_INT) => Type.Integer({ minimum: min, maximum: Math.min(max, MAX_INT) });
export const Order = Literals(['asc', 'desc'] as const, { 'x-error': 'must be one of asc, desc' });

/** `page` (an opaque cursor from `next_page`) and `limit`: every PageCursor list. */
export const PageQuery = (maxLimit = 100) => ({
  page: Type.Optional(Type.String({ description: "A cursor from a previous page's next_page (or prev_page)." })),
  limit: Type.Optional(QueryInt(1, maxLimit)),
});

export const ListQuery = (maxLimit = 100) => Type.Object(PageQuery(maxLimit));
export const ArchivedListQuery = Type.Object({ include_archived: Type.Optional(QueryBool), ...PageQuery() });

/** A PageCursor page of `item`. */
export const Page = <T extends TSchema>(item: T, opts: { prev?: boolean } = {}) =>
  Type.Object({
    data: Type.Array(item),
    next_page: Nullable(Type.String()),
    ...(opts.prev ? { prev_page: Nullable(Type.String()) } : {}),
  });

export const Deleted = (type: string) => Type.Object({ id: Type.String(), type: Type.Literal(type) });

export const Params = <K extends string>(...names: K[]) =>
  Type.Object(Object.fromEntries(names.map((n) => [n, Type.String()])) as Record<K, ReturnType<typeof Type.String>>);

/** The API's error envelope (wire-contract §0.6), on every 4xx and 5xx. */
export const ErrorEnvelope = Type.Object(
  {
    type: Type.Literal('error'),
    error: Type.Object({ type: Type.String(), message: Type.String(), details: Type.Optional(Type.Record(Type.String(), Type.Unknown())) }),
    request_id: Nullable(Type.String()),
  },
  { description: 'An error' },
);

/**
 * Route responses: the 2xx object and the error envelope. They document the API (and a test
 * holds live responses to them); they are not the handlers' static types, which the domain owns.
 */
export const Responds = (ok: TSchema): unknown => ({ 200: ok, '4xx': ErrorEnvelope, '5xx': ErrorEnvelope });

/** Response objects have these on every API object. */
export const Times = {
  created_at: Type.String(),
  updated_at: Type.String(),
};
