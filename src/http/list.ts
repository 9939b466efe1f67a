import { keysetPage, pageRequest, type KeyType, type PageQuery } from './pagination.js';

export interface ListFetch<K> {
  after?: K;
  before?: K;
  direction: 'asc' | 'desc';
  limit: number;
}

/**
 * Serves one page of a PageCursor list sorted by a unique key. `prev_page` is only included
 * for the lists that page both ways (sessions); elsewhere it is absent, as the API has it.
 */
export async function listPage<T, K extends string | number>(
  q: PageQuery,
  opts: { order: 'asc' | 'desc'; defaultLimit?: number; bidirectional?: boolean; keyType?: KeyType },
  fetch: (f: ListFetch<K>) => Promise<T[]>,
  keyOf: (item: T) => K,
): Promise<{ data: T[]; next_page: string | null; prev_page?: string | null }> {
  const page = await keysetPage(pageRequest(q, opts), keyOf, fetch);
  if (opts.bidirectional) return page;
  return { data: page.data, next_page: page.next_page };
}

/** The common case: a list ordered by id (ids sort in creation order). */
export function listById<T extends { id: string }>(
  q: PageQuery,
  opts: { order: 'asc' | 'desc'; defaultLimit?: number; bidirectional?: boolean },
  fetch: (f: ListFetch<string>) => Promise<T[]>,
) {
  return listPage<T, string>(q, opts, fetch, (x) => x.id);
}
