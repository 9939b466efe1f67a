import type {
  BetaManagedAgentsFileResource,
  BetaManagedAgentsGitHubRepositoryResource,
  BetaManagedAgentsDeleteSessionResource,
  BetaManagedAgentsMemoryStoreResource,
} from '@anthropic-ai/sdk/resources/beta/sessions/resources';
import { keyset } from '../store/keyset.js';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { readJson } from '../store/json.js';
import type { Database } from '../store/schema.js';
import type { SecretBox } from '../vault/crypto.js';
import type { Static } from '@sinclair/typebox';
import type { ResourceInput as ResourceSchema, ResourceUpdate } from '../http/schemas/resources.js';
import { ApiError, invalid, notFound } from './errors.js';
import type { FileMetadata, Files } from './files.js';
import { hasPrefix, newId } from './ids.js';
import type { SessionRows } from './session-rows.js';
import type { Session, SessionLifecycle } from './sessions.js';
import { nowIso } from './time.js';

export interface SessionResourcesTable {
  id: string;
  session_id: string;
  type: string;
  created_at: string;
  updated_at: string;
  /** The sealed `authorization_token` of a github_repository; null otherwise. */
  secret: string | null;
  data: string;
}

declare module '../store/schema.js' {
  interface Database {
    session_resources: SessionResourcesTable;
  }
}

export type Checkout = { type: 'branch'; name: string } | { type: 'commit'; sha: string };

/** Session resources as the SDK declares them, with the fields Paddock always sets made required. */
export type FileResource = BetaManagedAgentsFileResource;

export interface GitHubRepositoryResource extends BetaManagedAgentsGitHubRepositoryResource {
  checkout: Checkout | null;
}

/** A snapshot of the memory store reference as given; it has no id on the wire. */
export interface MemoryStoreResource extends BetaManagedAgentsMemoryStoreResource {
  access: 'read_write' | 'read_only';
  instructions: string | null;
}

export type SessionResource = FileResource | GitHubRepositoryResource | MemoryStoreResource;

/** A resource row's `data`: the wire form, plus the row id a memory store keeps internally. */
export type StoredResource = FileResource | GitHubRepositoryResource | (MemoryStoreResource & { id: string });

/** What the sandbox needs to materialise a session's resources (decrypted; stays in the server). */
export type ResourceMount =
  | { resource: FileResource; file: FileMetadata | null; localPath: string | undefined }
  | { resource: GitHubRepositoryResource; authorizationToken: string | undefined }
  | { resource: MemoryStoreResource };

const MAX_MEMORY_STORES = 8;
const MAX_RESOURCES = 100;
/** Mounting on these exact paths would hide what the sandbox itself needs. */
const RESERVED_EXACT = ['/', '/workspace', '/mnt', '/mnt/session', '/mnt/session/uploads', '/tmp', '/home', '/root', '/var', '/opt', '/srv'];
/** Nothing may be mounted on or under these (`/opt/paddock`: the sandbox's agent and the environment's packages). */
const RESERVED_TREES = [
  '/etc',
  '/usr',
  '/bin',
  '/sbin',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/proc',
  '/sys',
  '/dev',
  '/boot',
  '/run',
  '/mnt/session/outputs',
  '/mnt/memory',
  '/opt/paddock',
];

/** Request bodies, as checked at the route edge (src/http/schemas/resources.ts). */
export type ResourceInput = Static<typeof ResourceSchema>;
export type ResourceUpdateInput = Static<typeof ResourceUpdate>;

/** An absolute, already-normal path outside the system directories, or a 400 saying why not. */
export function checkMountPath(p: string, field: string): string {
  if (/[\u0000-\u001f]/.test(p)) throw invalid(`${field}: must not contain control characters`);
  if (!p.startsWith('/')) throw invalid(`${field}: must be an absolute path (starting with /)`);
  if (p.split('/').includes('..')) throw invalid(`${field}: must not contain ".." segments`);
  if (path.posix.normalize(p) !== p || (p.length > 1 && p.endsWith('/'))) {
    throw invalid(`${field}: must be a normalised path (no ".", empty segments or trailing slash)`);
  }
  if (RESERVED_EXACT.includes(p)) throw invalid(`${field}: ${p} is a system directory and cannot be a mount point`);
  const tree = RESERVED_TREES.find((t) => p === t || p.startsWith(t + '/'));
  if (tree) throw invalid(`${field}: cannot mount on or under ${tree}`);
  return p;
}

/**
 * A repository on the configured GitHub (`PADDOCK_GITHUB_URL`): `<base>/owner/repo` or
 * `<base>/owner/repo.git`, nothing else. Returns the repository's name (the default mount).
 */
function repoUrl(v: string, field: string, githubUrl: string): { url: string; repo: string } {
  const example = `${githubUrl}/owner/repo`;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw invalid(`${field}: must be a repository URL such as ${example}`);
  }
  if (u.username || u.password) throw invalid(`${field}: must not embed credentials; use authorization_token`);
  const base = new URL(githubUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  if (u.origin !== base.origin || !u.pathname.startsWith(prefix + '/') || u.search || u.hash) {
    throw invalid(`${field}: must be a repository on ${githubUrl}, such as ${example}`);
  }
  const segs = u.pathname.slice(prefix.length + 1).split('/');
  const owner = segs[0] ?? '';
  const repo = (segs[1] ?? '').replace(/\.git$/, '');
  if (segs.length !== 2 || !/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/.test(owner) || !/^[A-Za-z0-9._-]{1,100}$/.test(repo) || repo === '.' || repo === '..') {
    throw invalid(`${field}: must name a repository as ${example}`);
  }
  return { url: v, repo };
}

/** Two mount paths clash when equal or when one lies inside the other (nothing is mounted inside a repository). */
function clash(a: string, b: string): boolean {
  return a === b || a.startsWith(b + '/') || b.startsWith(a + '/');
}

/** Strips what the wire form does not carry (the memory store row's internal id). */
export function wire(r: StoredResource): SessionResource {
  return r.type === 'memory_store' ? memoryStoreWire(r) : r;
}

function memoryStoreWire({ id: _internal, ...rest }: MemoryStoreResource & { id: string }): MemoryStoreResource {
  return rest;
}

interface Parsed {
  resource: StoredResource;
  secret?: string;
}

export class SessionResources implements SessionLifecycle {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly files: Files,
    private readonly sessions: SessionRows,
    private readonly box: SecretBox,
    /** `PADDOCK_GITHUB_URL`: repository URLs must be under it. */
    private readonly githubUrl: string,
  ) {}

  private aad(id: string): string {
    return `session_resource:${id}`;
  }

  private async parse(input: ResourceInput, field: string, opts: { atCreate: boolean }): Promise<Parsed> {
    const now = nowIso();
    const id = newId('sessionResource');
    if (input.type === 'file') {
      const file = await this.files.getUsable(input.file_id);
      const mount = input.mount_path ?? `/mnt/session/uploads/${file.id}`;
      return {
        resource: {
          type: 'file',
          id,
          file_id: file.id,
          mount_path: checkMountPath(mount, `${field}.mount_path`),
          created_at: now,
          updated_at: now,
        } satisfies FileResource,
      };
    }
    if (input.type === 'github_repository') {
      const { url, repo } = repoUrl(input.url, `${field}.url`, this.githubUrl);
      const mount = input.mount_path ?? `/workspace/${repo}`;
      const tok = input.authorization_token ?? undefined;
      return {
        resource: {
          type: 'github_repository',
          id,
          url,
          mount_path: checkMountPath(mount, `${field}.mount_path`),
          checkout: input.checkout
            ? input.checkout.type === 'branch'
              ? { type: 'branch', name: input.checkout.name }
              : { type: 'commit', sha: input.checkout.sha }
            : null,
          created_at: now,
          updated_at: now,
        } satisfies BetaManagedAgentsGitHubRepositoryResource,
        secret: tok,
      };
    }
    if (!opts.atCreate) throw invalid(`${field}: memory_store resources can only be attached when the session is created`);
    return {
      resource: {
        type: 'memory_store',
        id,
        memory_store_id: input.memory_store_id,
        access: input.access ?? 'read_write',
        instructions: input.instructions ?? null,
      },
    };
  }

  private async insert(sessionId: string, p: Parsed): Promise<void> {
    const r = p.resource;
    const now = r.type === 'memory_store' ? nowIso() : r.created_at;
    await this.db
      .insertInto('session_resources')
      .values({
        id: r.id,
        session_id: sessionId,
        type: r.type,
        created_at: now,
        updated_at: now,
        secret: p.secret === undefined ? null : this.box.seal(p.secret, this.aad(r.id)),
        data: JSON.stringify(r),
      })
      .execute();
  }

  private static mountOf(r: SessionResource): string | undefined {
    return r.type === 'memory_store' ? undefined : r.mount_path;
  }

  /** Session create: validates the create-time list and records it. */
  async resolveForCreate(input: ResourceInput[] | null | undefined, sessionId: string): Promise<SessionResource[]> {
    if (input === undefined || input === null) return [];
    const parsed: Parsed[] = [];
    const mounts: string[] = [];
    for (const [i, item] of input.entries()) {
      const p = await this.parse(item, `resources.${i}`, { atCreate: true });
      const m = SessionResources.mountOf(p.resource);
      if (m !== undefined) {
        const other = mounts.find((o) => clash(o, m));
        if (other !== undefined)
          throw invalid(
            `resources.${i}.mount_path: ${m} ${other === m ? 'is already a mount path of another resource' : `overlaps ${other}, another resource's mount path (nothing is mounted inside another)`}`,
          );
        mounts.push(m);
      }
      parsed.push(p);
    }
    const stores = parsed.flatMap((p) => (p.resource.type === 'memory_store' ? [p.resource.memory_store_id] : []));
    if (stores.length > MAX_MEMORY_STORES) throw invalid(`resources: at most ${MAX_MEMORY_STORES} memory stores`);
    if (new Set(stores).size !== stores.length) {
      throw invalid('resources: a memory store can be attached only once');
    }
    for (const p of parsed) await this.insert(sessionId, p);
    return parsed.map((p) => wire(p.resource));
  }

  private async liveSession(sessionId: string): Promise<Session> {
    const s = await this.sessions.get(sessionId);
    if (s.archived_at) throw new ApiError(409, 'conflict_error', `Session ${sessionId} is archived`);
    if (s.status === 'terminated') throw new ApiError(409, 'conflict_error', `Session ${sessionId} is terminated`);
    return s;
  }

  /**
   * Keeps the session object's `resources` (what sessions.retrieve shows) in step with the table.
   * The rows are read under the session's patch lock: of two changes racing, the one that writes
   * the session last has read the rows after both were made.
   */
  private async syncSession(sessionId: string): Promise<void> {
    await this.sessions.patch(sessionId, async (s, trx) => {
      const all = await this.rows(sessionId, trx);
      return { ...s, resources: all.map((r) => wire(readJson<StoredResource>(r.data))) };
    });
  }

  private rows(sessionId: string, db: Kysely<Database> = this.db) {
    return db.selectFrom('session_resources').select(['id', 'data', 'secret']).where('session_id', '=', sessionId).orderBy('id', 'asc').execute();
  }

  async add(sessionId: string, input: ResourceInput): Promise<SessionResource> {
    await this.liveSession(sessionId);
    const p = await this.parse(input, 'body', { atCreate: false });
    const m = SessionResources.mountOf(p.resource);
    const existing = (await this.rows(sessionId)).map((r) => readJson<StoredResource>(r.data));
    if (existing.length >= MAX_RESOURCES) throw invalid(`A session holds at most ${MAX_RESOURCES} resources`);
    const other = m === undefined ? undefined : existing.map(SessionResources.mountOf).find((o) => o !== undefined && clash(o, m));
    if (other !== undefined) {
      throw invalid(
        `body.mount_path: ${m} ${other === m ? 'is already a mount path of another resource' : `overlaps ${other}, another resource's mount path (nothing is mounted inside another)`}`,
      );
    }
    await this.insert(sessionId, p);
    await this.syncSession(sessionId);
    return wire(p.resource);
  }

  private async row(sessionId: string, id: string) {
    await this.sessions.get(sessionId);
    if (!hasPrefix(id, 'sessionResource')) throw notFound('Session resource', id);
    const row = await this.db
      .selectFrom('session_resources')
      .select(['id', 'data', 'secret'])
      .where('id', '=', id)
      .where('session_id', '=', sessionId)
      .executeTakeFirst();
    if (!row) throw notFound('Session resource', id);
    const resource = readJson<StoredResource>(row.data);
    // Memory store rows carry an internal id the API never shows, so they are not addressable.
    if (resource.type === 'memory_store') throw notFound('Session resource', id);
    return { resource, secret: row.secret };
  }

  async get(sessionId: string, id: string): Promise<SessionResource> {
    return (await this.row(sessionId, id)).resource;
  }

  /** Rotates a repository's `authorization_token`, the only thing an update changes. */
  async update(sessionId: string, id: string, input: ResourceUpdateInput): Promise<SessionResource> {
    await this.liveSession(sessionId);
    const { resource } = await this.row(sessionId, id);
    if (resource.type !== 'github_repository') throw invalid('authorization_token: only github_repository resources have a token');
    const sealed = this.box.seal(input.authorization_token, this.aad(id));
    const next = { ...resource, updated_at: nowIso() };
    await this.db
      .updateTable('session_resources')
      .set({ secret: sealed, updated_at: next.updated_at, data: JSON.stringify(next) })
      .where('id', '=', id)
      .execute();
    await this.syncSession(sessionId);
    return next;
  }

  async delete(sessionId: string, id: string): Promise<BetaManagedAgentsDeleteSessionResource> {
    await this.liveSession(sessionId);
    await this.row(sessionId, id);
    await this.db.deleteFrom('session_resources').where('id', '=', id).execute();
    await this.syncSession(sessionId);
    return { id, type: 'session_resource_deleted' };
  }

  async list(sessionId: string, q: { after?: string; before?: string; direction: 'asc' | 'desc'; limit: number }): Promise<StoredResource[]> {
    await this.sessions.get(sessionId);
    const query = this.db.selectFrom('session_resources').select('data').where('session_id', '=', sessionId);
    const rows = await keyset(query, 'id', q).execute();
    return rows.map((r) => readJson<StoredResource>(r.data));
  }

  /** For the sandbox: each resource with the file's local bytes or the repository's token. */
  async mountsForSession(sessionId: string): Promise<ResourceMount[]> {
    const out: ResourceMount[] = [];
    for (const row of await this.rows(sessionId)) {
      const r = readJson<StoredResource>(row.data);
      if (r.type === 'file') {
        // A file deleted since is mounted as missing; a database that fails to answer is not that.
        const file = await this.files.get(r.file_id).catch((err: unknown) => {
          if (err instanceof ApiError && err.status === 404) return null;
          throw err;
        });
        out.push({ resource: r, file, localPath: file ? this.files.localPath(file.id) : undefined });
      } else if (r.type === 'github_repository') {
        out.push({ resource: r, authorizationToken: row.secret ? this.box.open(row.secret, this.aad(r.id)) : undefined });
      } else {
        out.push({ resource: memoryStoreWire(r) });
      }
    }
    return out;
  }

  /** A repository's current token, read when the egress proxy needs it (so a rotation applies to the next request). */
  async repositoryToken(sessionId: string, id: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('session_resources')
      .select('secret')
      .where('id', '=', id)
      .where('session_id', '=', sessionId)
      .where('type', '=', 'github_repository')
      .executeTakeFirst();
    return row?.secret ? this.box.open(row.secret, this.aad(id)) : undefined;
  }

  /** A deleted session's resources go with it; an archived one keeps them. */
  async retire(sessionId: string, reason: 'archived' | 'deleted'): Promise<void> {
    if (reason === 'deleted') await this.db.deleteFrom('session_resources').where('session_id', '=', sessionId).execute();
  }

  /** Re-seals every repository token with the box's current key (master key rotation). */
  static async reseal(db: Kysely<Database>, from: SecretBox, to: SecretBox): Promise<number> {
    const rows = await db.selectFrom('session_resources').select(['id', 'secret']).where('secret', 'is not', null).execute();
    for (const r of rows) {
      const aad = `session_resource:${r.id}`;
      await db
        .updateTable('session_resources')
        .set({ secret: to.seal(from.open(r.secret!, aad), aad) })
        .where('id', '=', r.id)
        .execute();
    }
    return rows.length;
  }
}
