import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Checkout } from '../../domain/resources.js';

/**
 * A server-side `git clone` of a repository resource, outside any sandbox. The token travels
 * only in this one process's environment (as an `http.extraHeader` set through GIT_CONFIG_*),
 * never in its argv, the clone's `.git/config`, or a credential helper; the host's own git
 * configuration is ignored. Nothing is run by a shell: argv only, values validated upstream.
 */

export type RepositoryErrorType =
  'repository_authentication_error' | 'repository_forbidden_error' | 'repository_not_found_error' | 'repository_checkout_error' | 'repository_clone_error';

export class CloneError extends Error {
  constructor(
    readonly type: RepositoryErrorType,
    message: string,
  ) {
    super(message);
  }
}

export interface CloneRequest {
  url: string;
  checkout: Checkout | null;
  token?: string;
  /** Where the clone goes; must not exist yet. */
  dest: string;
  /** The checked address the URL's host is pinned to (so git looks nothing up itself). */
  pin: { host: string; port: number; address: string };
  /** CA bundle for https (the host's store plus the operator's extra CAs), when not git's default. */
  caFile?: string;
  timeoutMs: number;
}

/** Bytes of git's stderr kept for classifying and reporting a failure. */
const STDERR_BYTES = 64 * 1024;

export async function cloneRepository(req: CloneRequest): Promise<void> {
  const env = gitEnv(req);
  try {
    const branch = req.checkout?.type === 'branch' ? ['--branch', req.checkout.name] : [];
    const noCheckout = req.checkout?.type === 'commit' ? ['--no-checkout'] : [];
    await runGit(['clone', '--quiet', ...branch, ...noCheckout, '--', req.url, req.dest], env, req.timeoutMs, req.token);
    if (req.checkout?.type === 'commit') {
      const sha = req.checkout.sha;
      await runGit(['-C', req.dest, '-c', 'advice.detachedHead=false', 'checkout', '--quiet', '--detach', sha, '--'], env, req.timeoutMs, req.token).catch(
        (err: CloneError) => {
          throw new CloneError('repository_checkout_error', `commit ${sha} could not be checked out: ${err.message}`);
        },
      );
    }
  } catch (err) {
    await fs.rm(req.dest, { recursive: true, force: true });
    throw err;
  }
}

function gitEnv(req: CloneRequest): NodeJS.ProcessEnv {
  const config: Array<[string, string]> = [
    // Redirects could lead anywhere, past the address check.
    ['http.followRedirects', 'false'],
    ['credential.helper', ''],
    ['init.templateDir', ''],
    ['core.hooksPath', '/dev/null'],
    ['http.curloptResolve', `${req.pin.host}:${req.pin.port}:${net.isIPv6(req.pin.address) ? `[${req.pin.address}]` : req.pin.address}`],
  ];
  if (req.token) config.push(['http.extraHeader', `Authorization: Basic ${Buffer.from(`x-access-token:${req.token}`).toString('base64')}`]);
  if (req.caFile) config.push(['http.sslCAInfo', req.caFile]);
  const env: NodeJS.ProcessEnv = {
    // A fixed PATH, as for bwrap: git from the system, not from wherever the server's PATH points.
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: '/nonexistent',
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ALLOW_PROTOCOL: 'http:https',
    GIT_LFS_SKIP_SMUDGE: '1',
    GIT_CONFIG_COUNT: String(config.length),
  };
  config.forEach(([k, v], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = k;
    env[`GIT_CONFIG_VALUE_${i}`] = v;
  });
  return env;
}

/** Runs git in a process group of its own (its helpers die with it at the deadline). */
function runGit(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number, token: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      if (stderr.length < STDERR_BYTES) stderr += d.toString('utf8');
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new CloneError('repository_clone_error', `git could not be run: ${err.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) return resolve();
      const text = redact(stderr, token);
      if (timedOut) return reject(new CloneError('repository_clone_error', `git did not finish within ${Math.round(timeoutMs / 1000)} s`));
      reject(new CloneError(classify(text), summary(text) || `git exited with ${code}`));
    });
  });
}

function classify(stderr: string): RepositoryErrorType {
  if (/Remote branch .* not found in upstream|couldn't find remote ref/i.test(stderr)) return 'repository_checkout_error';
  if (/returned error: 401|Authentication failed|could not read (Username|Password)/i.test(stderr)) return 'repository_authentication_error';
  if (/returned error: 403/i.test(stderr)) return 'repository_forbidden_error';
  if (/returned error: 404|repository .* not found|does not appear to be a git repository/i.test(stderr)) return 'repository_not_found_error';
  return 'repository_clone_error';
}

/** git's own words, short: its `fatal:`/`error:` lines. */
function summary(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const key = lines.filter((l) => /^(fatal|error):/.test(l));
  return (key.length ? key : lines).join(' ').slice(0, 500);
}

/** The token and its basic-auth form never appear in a message, whatever git printed. */
function redact(text: string, token: string | undefined): string {
  if (!token) return text;
  const forms = [token, Buffer.from(`x-access-token:${token}`).toString('base64'), encodeURIComponent(token)];
  return forms.reduce((t, f) => t.split(f).join('[redacted]'), text);
}

/** Gives a tree to the sandbox's user without following any link in it. */
export async function chownTree(root: string, uid: number, gid: number): Promise<void> {
  await fs.lchown(root, uid, gid);
  for (const entry of await fs.readdir(root, { withFileTypes: true })) {
    const p = path.join(root, entry.name);
    if (entry.isDirectory()) await chownTree(p, uid, gid);
    else await fs.lchown(p, uid, gid);
  }
}
