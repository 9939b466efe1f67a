import { FormatRegistry, Kind, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';
import type { FastifySchemaCompiler } from 'fastify';
import { invalid } from '../domain/errors.js';
import { parseIso } from '../domain/time.js';
import { readQuery } from './query.js';

/**
 * Request validation at the route edge: every route declares its body and query as TypeBox
 * schemas (src/http/schemas), checked here before the handler runs. Nothing is coerced,
 * defaulted or stripped from a body (the domain applies defaults); a query string is first read
 * by the API's rules (src/http/query.ts). A failure is a 400 naming the first offending field the
 * way the API always has (`tools.0.name: must be a string`); messages never quote the value,
 * which may be a secret.
 *
 * Schemas carry their messages: `x-error` on a schema node is the message for any failure at that
 * node, or, as an object, per failing keyword (`type`, `maxLength`, `pattern`, `required`, …);
 * otherwise a message is made from the keyword. `x-root` on a body schema prefixes every path.
 */

FormatRegistry.Set('date-time', (s) => parseIso(s) !== undefined);
// What `new URL` accepts; the schema's pattern narrows the scheme.
FormatRegistry.Set('uri', (s) => URL.canParse(s));

type Node = TSchema & { 'x-error'?: string | Record<string, string>; 'x-root'?: string };

interface Issue {
  path: string[];
  schema: Node;
  keyword: string;
  /** The message of the union this issue's schema was chosen from, for a failure of the member itself. */
  fallback?: string | Record<string, string>;
}

const KEYWORD: Partial<Record<ValueErrorType, string>> = {
  [ValueErrorType.ArrayMaxItems]: 'maxItems',
  [ValueErrorType.ArrayMinItems]: 'minItems',
  [ValueErrorType.IntegerMaximum]: 'maximum',
  [ValueErrorType.IntegerMinimum]: 'minimum',
  [ValueErrorType.NumberMaximum]: 'maximum',
  [ValueErrorType.NumberMinimum]: 'minimum',
  [ValueErrorType.ObjectAdditionalProperties]: 'additionalProperties',
  [ValueErrorType.ObjectMaxProperties]: 'maxProperties',
  [ValueErrorType.ObjectRequiredProperty]: 'required',
  [ValueErrorType.StringFormat]: 'format',
  [ValueErrorType.StringMaxLength]: 'maxLength',
  [ValueErrorType.StringMinLength]: 'minLength',
  [ValueErrorType.StringPattern]: 'pattern',
  [ValueErrorType.Literal]: 'const',
};

const pointer = (p: string) =>
  p === ''
    ? []
    : p
        .slice(1)
        .split('/')
        .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));

/** `a, b or c`: how the API lists the values it accepts. */
export function words(values: readonly unknown[]): string {
  const s = values.map(String);
  return s.length < 2 ? (s[0] ?? '') : `${s.slice(0, -1).join(', ')} or ${s.at(-1)}`;
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v;
}

function accepts(s: Node, type: string): boolean {
  if (s[Kind] === 'Union') return (s.anyOf as Node[]).some((m) => accepts(m, type));
  if (s[Kind] === 'Literal') return jsonType(s.const) === type || (type === 'integer' && typeof s.const === 'number');
  if (s[Kind] === 'Unknown' || s[Kind] === 'Any') return true;
  const t = s.type as string | undefined;
  return t === type || (t === 'number' && type === 'integer') || (s[Kind] === 'Record' && type === 'object');
}

/** The `type` literal of an object schema, when it has one (tagged unions). */
function tag(s: Node): unknown {
  const t = (s.properties as Record<string, Node> | undefined)?.type;
  return t && t[Kind] === 'Literal' ? t.const : undefined;
}

/**
 * The first failure of `value` against `schema`. A union is resolved the way a reader would:
 * by the value's JSON type, then by its `type` tag, so the message is about the variant meant.
 */
function firstIssue(schema: Node, value: unknown, path: string[]): Issue | undefined {
  const e = Value.Errors(schema, value).First();
  if (!e) return undefined;
  const at = [...path, ...pointer(e.path)];
  const s = e.schema as Node;
  if (e.type === ValueErrorType.Union) {
    const all = s.anyOf as Node[];
    let members = all.filter((m) => accepts(m, jsonType(e.value)));
    // A nullable field given the wrong type: the message is about the non-null form.
    const nonNull = all.filter((m) => m.type !== 'null');
    if (members.length === 0 && nonNull.length === 1) members = nonNull;
    const tags = members.map(tag);
    const chosen =
      members.length === 1
        ? members[0]
        : members.length > 1 && tags.every((t) => t !== undefined)
          ? members.find((m) => tag(m) === (e.value as Record<string, unknown>).type)
          : undefined;
    if (chosen) {
      const i = firstIssue(chosen, e.value, at)!;
      return i.schema === chosen && i.path.length === at.length ? { ...i, fallback: i.fallback ?? s['x-error'] } : i;
    }
    // An unknown tag is the fault of the `type` field, unless the union speaks for itself.
    if (members.length > 1 && tags.every((t) => t !== undefined) && typeof s['x-error'] !== 'string') {
      return { path: [...at, 'type'], schema: s, keyword: 'tag' };
    }
  }
  // A missing property is reported at the property; its own message (if any) still applies.
  return { path: at, schema: s, keyword: KEYWORD[e.type] ?? 'type' };
}

const A_TYPE: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'a boolean',
  array: 'a list',
  object: 'an object',
  null: 'null',
};

function defaultMessage(i: Issue): string {
  const s = i.schema;
  switch (i.keyword) {
    case 'tag':
      return `must be ${words((s.anyOf as Node[]).map(tag).filter((t) => t !== undefined))}`;
    case 'required':
      // A missing string is "must be a string", as for any other non-string.
      return ['string', 'integer', 'number', 'boolean'].includes(s.type as string) ? `must be ${A_TYPE[s.type as string]}` : 'required';
    case 'pattern':
      return 'is not in the expected format';
    case 'maxLength':
      return `must be at most ${s.maxLength} characters`;
    case 'minLength':
      return s.minLength === 1 ? 'must not be empty' : `must be at least ${s.minLength} characters`;
    case 'maxItems':
      return `at most ${s.maxItems} items`;
    case 'minItems':
      return s.minItems === 1 ? 'must not be empty' : `must list at least ${s.minItems} items`;
    case 'maximum':
      return `must be at most ${s.maximum}`;
    case 'minimum':
      return `must be at least ${s.minimum}`;
    case 'maxProperties':
      return `at most ${s.maxProperties} properties`;
    case 'additionalProperties':
      return 'not a known field';
    case 'const':
      return `must be ${JSON.stringify(s.const)}`;
    case 'format':
      return s.format === 'date-time' ? 'must be an RFC 3339 timestamp' : `must be a ${s.format}`;
  }
  if (s[Kind] === 'Union') {
    const members = s.anyOf as Node[];
    if (members.every((m) => m[Kind] === 'Literal')) return `must be ${words(members.map((m) => m.const))}`;
    return `must be ${words([...new Set(members.map((m) => A_TYPE[m.type as string] ?? 'a valid value'))])}`;
  }
  return A_TYPE[s.type as string] ? `must be ${A_TYPE[s.type as string]}` : 'invalid value';
}

function message(i: Issue): string {
  for (const x of [i.schema['x-error'], i.fallback]) {
    if (typeof x === 'string') return x;
    if (x?.[i.keyword]) return x[i.keyword];
  }
  return defaultMessage(i);
}

/** The 400 for `value` failing `schema`, or undefined when it passes. */
export function validationError(schema: TSchema, value: unknown, root?: string): Error | undefined {
  const i = firstIssue(schema as Node, value, []);
  if (!i) return undefined;
  // An additional key of a map (metadata) is a fault of the map: name the map, not the key.
  const path = i.keyword === 'additionalProperties' && i.schema[Kind] === 'Record' ? i.path.slice(0, -1) : i.path;
  const where = [root, ...path].filter(Boolean).join('.');
  return invalid(`${where || 'body'}: ${message(i)}`);
}

/** JSON bodies: an absent body is checked as `{}` when the schema is `optionalBody`, else as null. */
const OPTIONAL = Symbol('optional body');

export function optionalBody<T extends TSchema>(schema: T): T {
  return Object.assign(schema, { [OPTIONAL]: true });
}

export function isOptionalBody(schema: unknown): boolean {
  return typeof schema === 'object' && schema !== null && (schema as Record<symbol, unknown>)[OPTIONAL] === true;
}

/** Multipart bodies are read (and checked) by their handler as they stream; the schema documents them. */
const STREAMED = 'multipart/form-data';

/** Fastify's validator compiler for every route: TypeBox checks, the API's messages. */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart, contentType }) => {
  const s = schema as Node;
  if (httpPart === 'querystring') {
    const check = TypeCompiler.Compile(s);
    return (raw: unknown) => {
      const value = readQuery(s, raw as Record<string, unknown>);
      if (check.Check(value)) return { value };
      return { error: validationError(s, value) };
    };
  }
  if (httpPart === 'body') {
    if (contentType === STREAMED) return () => ({ value: undefined });
    const check = TypeCompiler.Compile(s);
    const optional = isOptionalBody(s);
    return (raw: unknown) => {
      const value = raw === null && optional ? {} : raw;
      if (value !== null && check.Check(value)) return { value };
      // Fastify hands an absent body over as null (a JSON `null` never gets here: src/http/app.ts).
      if (value === null || jsonType(value) !== 'object') return { error: invalid('body: must be a JSON object') };
      return { error: validationError(s, value, s['x-root']) };
    };
  }
  // Path parameters are strings by construction; the domain decides what an id names.
  return () => true;
};
