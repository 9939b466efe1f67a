import type Anthropic from '@anthropic-ai/sdk';
import type { Logger } from 'pino';
import type { Networking } from '../domain/environments.js';
import type { Session } from '../domain/sessions.js';
import { Injector } from './egress/inject.js';
import { prepareCredentials, type CredentialSource } from './egress/session-credentials.js';
import { repositoriesChanged, type SessionRepositories } from './git/repositories.js';
import type { SessionDirs } from './types.js';

export type SessionError = Anthropic.Beta.Sessions.BetaManagedAgentsSessionErrorEvent['error'];

/** Records a `session.error` for a session (the event log in the server). */
export type ErrorReporter = (sessionId: string, error: SessionError) => Promise<void>;

export interface Extras {
  env: Record<string, string>;
  binds: Array<{ hostPath: string; path: string }>;
  injector: Injector;
  /** Which repositories this sandbox was started with (see `changed`). */
  attempted: Map<string, string>;
}

/**
 * What a session brings into its sandbox beyond files: its `environment_variable` credentials
 * (placeholders in the environment, secrets added by the egress proxy) and its
 * `github_repository` resources (cloned, mounted, tokens added by the egress proxy). Problems
 * become `session.error` events and the sandbox starts without what failed.
 */
export class SessionExtras {
  constructor(
    private readonly opts: {
      credentials?: CredentialSource;
      repositories?: SessionRepositories;
      report?: ErrorReporter;
      log: Logger;
    },
  ) {}

  async prepare(session: Session, dirs: SessionDirs, networking: Networking, mcpHosts: string[]): Promise<Extras> {
    const creds =
      this.opts.credentials && session.vault_ids.length ? await prepareCredentials(session, this.opts.credentials, networking, mcpHosts) : undefined;
    const repos = this.opts.repositories ? await this.opts.repositories.prepare(session.id, dirs) : undefined;
    const errors: SessionError[] = [
      ...(repos?.failures ?? []).map((f) => ({ ...f, retry_status: { type: 'retrying' as const } }) satisfies SessionError),
      ...(creds?.unreachable ?? []).map(
        (u) =>
          ({
            type: 'credential_host_unreachable_error',
            message: `The environment's networking does not allow ${u.hosts.join(', ')}, named in the credential's allowed_hosts: its secret cannot be used there.`,
            credential_id: u.credentialId,
            vault_id: u.vaultId,
            retry_status: { type: 'retrying' },
          }) satisfies SessionError,
      ),
    ];
    for (const error of errors) {
      await this.opts
        .report?.(session.id, error)
        .catch((err: unknown) => this.opts.log.error({ err, session_id: session.id }, 'could not record a session error'));
    }
    return {
      env: creds?.env ?? {},
      binds: repos?.binds ?? [],
      injector: new Injector(creds?.rules ?? [], repos?.rules ?? []),
      attempted: repos?.attempted ?? new Map(),
    };
  }

  /** The session has a repository its sandbox lacks (added since, or its token changed after a failure). */
  changed(session: Session, attempted: Map<string, string> | undefined): boolean {
    return this.opts.repositories !== undefined && attempted !== undefined && repositoriesChanged(session.resources, attempted);
  }
}
