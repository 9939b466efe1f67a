import { invalid } from '../domain/errors.js';
import { MAX_INT } from './query.js';

/** `page` and `limit` of a list query, read and bounded by its schema (src/http/schemas/common.ts). */
export interface PageQuery {
  page?: string;
  limit?: number;
}

/**
 * Opaque page cursors. A cursor names the key to continue from, the direction, and the order
 * it was made for, so that reusing it with another `order` is a clear 400 rather than a
 * silently wrong page.
 */
export interface Cursor {
  /** The sort key of the last item seen (id or seq). */
  k: string | number;
  /** Which way the page goes from `k`: on towards the end of the list, or back. */
  d: 'next' | 'prev';
  o: 'asc' | 'desc';
}

export function encodeCursor(c: Cursor): string {
  return 'page_' + Buffer.from(JSON.stringify(c)).toString('base64url');
}

/** What a list is sorted by: ids (strings) or sequence/version numbers. */
export type KeyType = 'string' | 'number';

export function decodeCursor(page: string | undefined, order: 'asc' | 'desc', keyType: KeyType = 'string'): Cursor | undefined {
  if (page === undefined) return undefined;
  let c: Cursor;
  try {
    if (!page.startsWith('page_')) throw new Error('prefix');
    c = JSON.parse(Buffer.from(page.slice(5), 'base64url').toString('utf8')) as Cursor;
    // A key of the wrong type (a cursor from another list, or a forged one) would reach SQL as a
    // comparison of text with integer: meaningless on SQLite, an error on Postgres.
    const keyOk = keyType === 'number' ? Number.isInteger(c.k) && Math.abs(c.k as number) <= MAX_INT : typeof c.k === 'string';
    if (!keyOk || (c.d !== 'next' && c.d !== 'prev') || (c.o !== 'asc' && c.o !== 'desc')) {
      throw new Error('shape');
    }
  } catch {
    throw invalid('page: not a valid page cursor');
  }
  if (c.o !== order) throw invalid('page: this cursor was made for a different order');
  return c;
}

export interface PageRequest {
  limit: number;
  order: 'asc' | 'desc';
  cursor?: Cursor;
}

export function pageRequest(q: PageQuery, opts: { defaultLimit?: number; order: 'asc' | 'desc'; keyType?: KeyType }): PageRequest {
  return { limit: q.limit ?? opts.defaultLimit ?? 20, order: opts.order, cursor: decodeCursor(q.page, opts.order, opts.keyType) };
}

/**
 * Keyset paging over any list sorted by a unique key. `fetch` returns up to `limit` items
 * strictly after (or before) the key in the requested direction, nearest first.
 */
export async function keysetPage<T, K extends string | number>(
  req: PageRequest,
  keyOf: (item: T) => K,
  fetch: (q: { after?: K; before?: K; direction: 'asc' | 'desc'; limit: number }) => Promise<T[]>,
): Promise<{ data: T[]; next_page: string | null; prev_page: string | null }> {
  const { limit, order, cursor } = req;
  const reverse = order === 'asc' ? 'desc' : 'asc';
  let items: T[];
  let hasMoreAhead: boolean;
  let hasMoreBehind: boolean;
  if (cursor?.d === 'prev') {
    // Walk backwards from the key, then present the page in the requested order.
    const key = cursor.k as K;
    const rows = await fetch({ ...(order === 'asc' ? { before: key } : { after: key }), direction: reverse, limit: limit + 1 });
    hasMoreBehind = rows.length > limit;
    items = rows.slice(0, limit).reverse();
    hasMoreAhead = true;
  } else {
    const key = cursor?.k as K | undefined;
    const bound = key === undefined ? {} : order === 'asc' ? { after: key } : { before: key };
    const rows = await fetch({ ...bound, direction: order, limit: limit + 1 });
    hasMoreAhead = rows.length > limit;
    items = rows.slice(0, limit);
    hasMoreBehind = cursor !== undefined;
  }
  const last = items[items.length - 1];
  const first = items[0];
  return {
    data: items,
    next_page: hasMoreAhead && last !== undefined ? encodeCursor({ k: keyOf(last), d: 'next', o: order }) : null,
    prev_page: hasMoreBehind && first !== undefined ? encodeCursor({ k: keyOf(first), d: 'prev', o: order }) : null,
  };
}
