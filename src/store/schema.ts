import type { Generated } from 'kysely';

/**
 * The database schema, as Kysely sees it. Each feature module adds its own tables by augmenting
 * this interface (`declare module '../store/schema.js' { interface Database { … } }`), so that
 * features stay in their own files. Wire objects are kept whole in a JSON `data` column; the
 * other columns exist for lookups, filters and ordering.
 *
 * Every timestamp is an RFC 3339 string; booleans are stored as 0/1 so that SQLite and Postgres
 * share one query layer.
 */
export interface Database {
  agents: AgentTable;
  agent_versions: AgentVersionTable;
  environments: EnvironmentTable;
  sessions: SessionTable;
  events: EventTable;
}

export interface AgentTable {
  id: string;
  version: number;
  created_at: string;
  updated_at: string;
  archived_at: string | null;
}

export interface AgentVersionTable {
  agent_id: string;
  version: number;
  created_at: string;
  data: string;
}

export interface EnvironmentTable {
  id: string;
  name: string;
  created_at: string;
  updated_at: string;
  archived_at: string | null;
  data: string;
}

export interface SessionTable {
  id: string;
  status: string;
  agent_id: string;
  agent_version: number;
  environment_id: string;
  deployment_id: string | null;
  /** Sequence number of the newest event in the log; appends allocate from it under a row lock. */
  last_seq: number;
  created_at: string;
  updated_at: string;
  archived_at: string | null;
  data: string;
}

export interface EventTable {
  session_id: string;
  seq: number;
  id: string;
  type: string;
  thread_id: string | null;
  processed_at: string;
  /** Makes an append idempotent: a second append with the same key is a no-op. */
  dedupe_key: string | null;
  data: string;
  pk?: Generated<number>;
}
