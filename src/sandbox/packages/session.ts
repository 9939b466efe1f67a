import type { Environment } from '../../domain/environments.js';
import { hasPackages } from '../../domain/packages.js';
import type { ToolOutcome } from '../../runtime/tool-executor.js';
import type { PackagePrefix } from '../types.js';
import { PackageInstallError, type PackageCache } from './cache.js';

/**
 * What a session's sandbox start needs of the package cache: the prefix to mount, and how a
 * failed install reaches the session.
 */

/** The environment's packages, ready to mount; an environment that lists some never gets a sandbox without them. */
export async function preparePackages(cache: PackageCache | undefined, environment: Environment, signal: AbortSignal): Promise<PackagePrefix | undefined> {
  if (!cache) {
    if (environment.config.type === 'cloud' && hasPackages(environment.config.packages)) {
      throw new PackageInstallError(
        "The environment's packages were not installed: packages are installed only in the bubblewrap sandbox (this server runs tools without one).",
      );
    }
    return undefined;
  }
  return cache.prepare(environment, signal);
}

/**
 * A failed install as the tool call's result and a `session.error`. None of the SDK's error types
 * names environment setup, so it is `unknown_error` (the documented fallback, matched on
 * `retry_status` and `message`), `exhausted`: this turn is over, the session returns to idle, and
 * the next message tries the install again (e.g. after `config.packages` was fixed).
 */
export function packageFailure(err: unknown): ToolOutcome | undefined {
  if (!(err instanceof PackageInstallError)) return undefined;
  return {
    is_error: true,
    content: [{ type: 'text', text: err.message }],
    sessionError: { type: 'unknown_error', message: err.message, retry_status: { type: 'exhausted' } },
  };
}
