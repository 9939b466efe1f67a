import { sql, type SelectQueryBuilder } from 'kysely';

/** One page of a list kept in key order: strictly after or before a key, nearest first. */
export interface KeysetBounds<K extends string | number> {
  after?: K;
  before?: K;
  direction: 'asc' | 'desc';
  limit: number;
}

/**
 * Bounds a query to one keyset page over `column` (a unique key: ids, which sort in creation
 * order, or a version number). The HTTP layer's cursors carry the key (src/http/pagination.ts).
 */
export function keyset<DB, TB extends keyof DB, O, K extends string | number>(
  query: SelectQueryBuilder<DB, TB, O>,
  column: string,
  q: KeysetBounds<K>,
): SelectQueryBuilder<DB, TB, O> {
  const key = sql.ref(column);
  if (q.after !== undefined) query = query.where(key, '>', q.after);
  if (q.before !== undefined) query = query.where(key, '<', q.before);
  return query.orderBy(key, q.direction).limit(q.limit);
}
