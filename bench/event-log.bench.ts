import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, type SqliteDatabase } from 'kysely';
import { EventLog } from '../src/domain/event-log.js';
import { InProcessBus } from '../src/fanout/bus.js';
import { migrate } from '../src/store/db.js';
import { withStatementCache } from '../src/store/sqlite-statements.js';
import { median } from './measure.js';

const OPS = 3000;
const ROUNDS = 5;

/** One append and one tail read per op, in process on SQLite: the event log's own cost. */
async function appendAndTail(dir: string, wrap: (db: SQLite.Database) => SqliteDatabase): Promise<number> {
  const sqlite = new SQLite(path.join(dir, `${Math.random()}.db`));
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  const db = new Kysely<any>({ dialect: new SqliteDialect({ database: wrap(sqlite) }) });
  try {
    await migrate(db);
    const now = new Date().toISOString();
    await db
      .insertInto('sessions')
      .values({
        id: 'sesn_bench',
        status: 'idle',
        agent_id: 'agent_x',
        agent_version: 1,
        environment_id: 'env_x',
        deployment_id: null,
        last_seq: 0,
        created_at: now,
        updated_at: now,
        archived_at: null,
        data: '{}',
      })
      .execute();
    const log = new EventLog(db, new InProcessBus());
    const started = performance.now();
    for (let i = 0; i < OPS; i++) {
      await log.append('sesn_bench', [{ type: 'user.message', content: [{ type: 'text', text: 'hi' }] }]);
      await log.after('sesn_bench', i, 10);
    }
    return OPS / ((performance.now() - started) / 1000);
  } finally {
    await db.destroy();
  }
}

export default {
  name: 'event-log',
  async run() {
    const dir = mkdtempSync(path.join(tmpdir(), 'paddock-bench-log-'));
    const plain: number[] = [];
    const cached: number[] = [];
    try {
      // Interleaved, so that machine load falls on both alike.
      for (let r = 0; r < ROUNDS; r++) {
        plain.push(await appendAndTail(dir, (db) => db as unknown as SqliteDatabase));
        cached.push(await appendAndTail(dir, (db) => withStatementCache(db)));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return [
      { metric: `append + tail read, statements prepared per query (median of ${ROUNDS})`, value: Math.round(median(plain)), unit: 'ops/s' },
      { metric: `append + tail read, prepared statements kept (median of ${ROUNDS})`, value: Math.round(median(cached)), unit: 'ops/s' },
      { metric: 'ratio kept / per query', value: Number((median(cached) / median(plain)).toFixed(2)), unit: '×' },
    ];
  },
};
