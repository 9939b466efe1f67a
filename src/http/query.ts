import { Kind, type TSchema } from '@sinclair/typebox';
import { parseIso } from '../domain/time.js';

/**
 * The largest integer a query may carry: integer columns are 32-bit on Postgres, and a larger
 * value there is an SQL error rather than "no such row".
 */
export const MAX_INT = 2_147_483_647;

function isArraySchema(s: TSchema): boolean {
  return s.type === 'array' || (s[Kind] === 'Union' && (s.anyOf as TSchema[]).some(isArraySchema));
}

function last(v: unknown): string | undefined {
  const s = Array.isArray(v) ? v[v.length - 1] : v;
  // The SDK serialises null as an empty value (`page=`): treat it as absent.
  return typeof s === 'string' && s !== '' ? s : undefined;
}

/**
 * Reads a query string the way the API's clients write it, into the shape of its schema:
 * arrays arrive as `x[]=a&x[]=b` (the SDK), `x=a&x=b` or `x=a,b` (the docs); a repeated single
 * value counts once, the last one; `created_at[gte]` may also be spelt `created_at.gte`; integers
 * are decimal digits, booleans `true`/`false`/`1`/`0`, and timestamps are compared in their
 * canonical UTC form. Anything else stays a string, for the
 * schema to refuse with the field's name. Keys the schema does not name are dropped.
 */
export function readQuery(schema: TSchema, raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, prop] of Object.entries((schema.properties ?? {}) as Record<string, TSchema>)) {
    if (isArraySchema(prop)) {
      const items: string[] = [];
      for (const k of [key, `${key}[]`]) {
        const v = raw[k];
        for (const s of Array.isArray(v) ? v : v === undefined ? [] : [v]) {
          if (typeof s === 'string') items.push(...s.split(',').filter(Boolean));
        }
      }
      if (items.length) out[key] = items;
      continue;
    }
    const s = last(raw[key]) ?? last(raw[key.replace(/\[(\w+)\]$/, '.$1')]);
    if (s === undefined) continue;
    if (prop.type === 'integer' && /^-?\d+$/.test(s)) out[key] = Number(s);
    else if (prop.format === 'date-time' && parseIso(s)) out[key] = parseIso(s)!.toISOString();
    else if (prop.type === 'boolean' && ['true', '1', 'false', '0'].includes(s)) out[key] = s === 'true' || s === '1';
    else out[key] = s;
  }
  return out;
}
