import type { Kysely } from 'kysely';
import { readJson } from '../store/json.js';
import type { Database } from '../store/schema.js';
import type { TurnRecord } from './derive.js';

declare module '../store/schema.js' {
  interface Database {
    runtime_records: RuntimeRecordTable;
  }
}

export interface RuntimeRecordTable {
  session_id: string;
  key: string;
  data: string;
}

const KEYS_PER_QUERY = 500;

/** What a record holds, by its key (recordKey): a turn, a compaction summary, a tool start. */
export type RuntimeRecord = TurnRecord | string | { at: string };

/**
 * Side records of the runtime (see migration 0010_runtime). Each is written *before* the events
 * that refer to it, so a crash leaves at most an orphan record, never an event without its record.
 */
export class RuntimeRecords {
  constructor(private readonly db: Kysely<Database>) {}

  async put(sessionId: string, key: string, data: RuntimeRecord): Promise<void> {
    const json = JSON.stringify(data);
    await this.db
      .insertInto('runtime_records')
      .values({ session_id: sessionId, key, data: json })
      .onConflict((oc) => oc.columns(['session_id', 'key']).doUpdateSet({ data: json }))
      .execute();
  }

  /** The records among `keys` that exist. */
  async get(sessionId: string, keys: string[]): Promise<Map<string, RuntimeRecord>> {
    const out = new Map<string, RuntimeRecord>();
    // In slices: a long log folded from scratch asks for more keys than a statement may bind.
    for (let i = 0; i < keys.length; i += KEYS_PER_QUERY) {
      const rows = await this.db
        .selectFrom('runtime_records')
        .select(['key', 'data'])
        .where('session_id', '=', sessionId)
        .where('key', 'in', keys.slice(i, i + KEYS_PER_QUERY))
        .execute();
      for (const r of rows) out.set(r.key, readJson<RuntimeRecord>(r.data));
    }
    return out;
  }

  async deleteSession(sessionId: string): Promise<void> {
    await this.db.deleteFrom('runtime_records').where('session_id', '=', sessionId).execute();
  }
}

/** Record keys, one place. */
export const recordKey = {
  /** The model's assistant content for the request opened by span start `startId`. */
  turn: (startId: string) => `turn:${startId}`,
  /** The summary behind an `agent.thread_context_compacted` event. */
  summary: (eventId: string) => `summary:${eventId}`,
  /** A tool call was handed to its executor. */
  toolStarted: (toolUseId: string) => `tool_started:${toolUseId}`,
};
