import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { BetaManagedAgentsSessionResource } from '@anthropic-ai/sdk/resources/beta/sessions/resources';
import type { GitHubRepositoryResource, ResourceMount } from '../../domain/resources.js';
import type { Outbound } from '../../net/outbound.js';
import { repositoryRule, type RepositoryRule } from '../egress/inject.js';
import type { SessionDirs } from '../types.js';
import { chownTree, cloneRepository, CloneError, type RepositoryErrorType } from './clone.js';
import { messageOf } from '../../error-info.js';
import { pathExists } from '../../path-exists.js';

/** The slice of session resources that repositories need (tokens decrypted in the server only). */
export interface RepositorySource {
  mountsForSession(sessionId: string): Promise<ResourceMount[]>;
  repositoryToken(sessionId: string, resourceId: string): Promise<string | undefined>;
}

export interface RepositoryFailure {
  type: RepositoryErrorType;
  message: string;
  repository_url: string;
}

export interface PreparedRepositories {
  /** Cloned repositories: host directory → mount path, mounted read-write. */
  binds: Array<{ hostPath: string; path: string }>;
  /** Where the egress proxy adds each repository's token. */
  rules: RepositoryRule[];
  /** resource id → 'ok' when mounted, else the `updated_at` of the failed attempt (a new token retries). */
  attempted: Map<string, string>;
  failures: RepositoryFailure[];
}

const CLONE_TIMEOUT_MS = 10 * 60_000;

/** Where a session's clones live: root-only, beside the file resource copies, on the session's disk. */
export function repositoriesDir(dirs: SessionDirs): string {
  return path.join(path.dirname(dirs.resources), 'repos');
}

/**
 * A session's `github_repository` resources: each cloned server-side, once, into the session's
 * root-only repositories directory (`repositoriesDir/<resource id>`, then owned by the sandbox's user),
 * and mounted at its `mount_path`. The clone's connection goes to an address the outbound port
 * checked (`PADDOCK_OUTBOUND_ALLOW_HOSTS` applies); inside the sandbox, git reaches the
 * repository through the egress proxy, which adds the token.
 */
export class SessionRepositories {
  constructor(
    private readonly opts: {
      source: RepositorySource;
      outbound: Pick<Outbound, 'check'>;
      /** Host user the sandbox runs as (clones are given to it). */
      owner?: { uid: number; gid: number };
      /** CA bundle for https clones when the operator added CAs. */
      caFile?: string;
      log: Logger;
    },
  ) {}

  async prepare(sessionId: string, dirs: SessionDirs): Promise<PreparedRepositories> {
    const repos = (await this.opts.source.mountsForSession(sessionId)).flatMap((m) =>
      m.resource.type === 'github_repository' ? [{ resource: m.resource, token: (m as { authorizationToken?: string }).authorizationToken }] : [],
    );
    const out: PreparedRepositories = { binds: [], rules: [], attempted: new Map(), failures: [] };
    if (!repos.length) return out;
    const root = repositoriesDir(dirs);
    await fs.mkdir(root, { recursive: true, mode: 0o711 });
    for (const { resource, token } of repos) {
      out.rules.push(repositoryRule(resource.id, resource.url, () => this.opts.source.repositoryToken(sessionId, resource.id)));
      const dir = path.join(root, resource.id);
      const failure = (await pathExists(dir)) ? undefined : await this.clone(resource, token, dir);
      if (failure) {
        out.failures.push(failure);
        out.attempted.set(resource.id, resource.updated_at);
        continue;
      }
      out.attempted.set(resource.id, 'ok');
      out.binds.push({ hostPath: dir, path: resource.mount_path });
    }
    return out;
  }

  /** Clones beside `dir` and moves it into place whole, so `dir` exists only for a complete clone. */
  private async clone(resource: GitHubRepositoryResource, token: string | undefined, dir: string): Promise<RepositoryFailure | undefined> {
    const tmp = `${dir}.partial`;
    const started = Date.now();
    try {
      await fs.rm(tmp, { recursive: true, force: true });
      const pin = await this.opts.outbound.check(resource.url).catch((err: Error) => {
        throw new CloneError('repository_clone_error', err.message);
      });
      await cloneRepository({ url: resource.url, checkout: resource.checkout, token, dest: tmp, pin, caFile: this.opts.caFile, timeoutMs: CLONE_TIMEOUT_MS });
      if (this.opts.owner) await chownTree(tmp, this.opts.owner.uid, this.opts.owner.gid);
      await fs.rename(tmp, dir);
      this.opts.log.info({ resource_id: resource.id, url: resource.url, ms: Date.now() - started }, 'repository cloned');
      return undefined;
    } catch (err) {
      await fs.rm(tmp, { recursive: true, force: true }).catch(() => {});
      const type = err instanceof CloneError ? err.type : 'repository_clone_error';
      const message = `Could not clone ${resource.url}: ${messageOf(err)}`;
      this.opts.log.warn({ resource_id: resource.id, url: resource.url, type, message }, 'repository clone failed');
      return { type, message, repository_url: resource.url };
    }
  }
}

/** A repository the session has now and the sandbox did not mount (added, or retried with a new token). */
export function repositoriesChanged(resources: readonly BetaManagedAgentsSessionResource[], attempted: Map<string, string>): boolean {
  return resources.some((r) => {
    if (r.type !== 'github_repository') return false;
    const seen = attempted.get(r.id);
    return seen === undefined || (seen !== 'ok' && seen !== r.updated_at);
  });
}
