import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { openStore, type Dialect, type Store } from '../../src/store/db.js';
import { startPostgres, type PostgresServer } from './postgres.js';

/** Both storage backends: every store suite runs `describe.each(DIALECTS)`. */
export const DIALECTS: Dialect[] = ['sqlite', 'postgres'];

let server: Promise<PostgresServer> | undefined;
let users = 0;

/** One Postgres cluster per test file, shared by its suites and stopped after the last one. */
function postgres(): Promise<PostgresServer> {
  users++;
  return (server ??= startPostgres());
}

async function releasePostgres(): Promise<void> {
  if (--users > 0 || !server) return;
  const s = await server;
  server = undefined;
  await s.stop();
}

export interface StoreHandle {
  /** The suite's store (fresh database, migrated). */
  readonly store: Store;
  /**
   * Another connection (pool) to the same database, as a second node would have. SQLite is one
   * node: better-sqlite3 blocks the event loop while it waits for a lock, so a second connection
   * in the same process would deadlock against the first; there the suite's own store is returned.
   */
  connect(): Promise<Store>;
  /** `DATABASE_URL` for Postgres; undefined for SQLite. */
  readonly databaseUrl: string | undefined;
}

/**
 * Registers beforeAll/afterAll that give the surrounding describe a fresh database of the
 * given dialect; every store opened through it is closed afterwards.
 */
export function useStore(dialect: Dialect): StoreHandle {
  const opened: Store[] = [];
  let databaseUrl: string | undefined;
  let sqlitePath = '';
  let dir = '';
  const connect = async () => {
    const s = await openStore({ databaseUrl, sqlitePath });
    opened.push(s);
    return s;
  };
  const handle = {
    store: undefined as unknown as Store,
    connect: async () => (dialect === 'sqlite' ? handle.store : connect()),
    get databaseUrl() {
      return databaseUrl;
    },
  };
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'paddock-store-'));
    sqlitePath = path.join(dir, 'paddock.db');
    if (dialect === 'postgres') databaseUrl = await (await postgres()).createDatabase();
    handle.store = await connect();
  });
  afterAll(async () => {
    for (const s of opened.splice(0)) await s.close();
    if (dialect === 'postgres') await releasePostgres();
    rmSync(dir, { recursive: true, force: true });
  });
  return handle;
}
