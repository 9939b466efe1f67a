import { spawn, spawnSync } from 'node:child_process';
import { lstatSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { AgentConfig } from '../../tools/agent/protocol.js';
import { agentScriptPath } from '../agent-source.js';
import { AgentChannel } from '../channel.js';
import { EgressProxy } from '../egress/proxy.js';
import { agentLimits, type Sandbox, type SandboxProvider, type SandboxSpec } from '../types.js';

const PATHS = { workspace: '/workspace', outputs: '/mnt/session/outputs', uploads: '/mnt/session/uploads' };
const AGENT_PATH = '/opt/paddock/agent.mjs';
const PROXY_SOCKET = '/run/paddock/proxy.sock';
const PROXY_PORT = 3128;
/** Host directories the sandbox sees, read-only: the OS and its tools, nothing else. */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc'];
/** Where, in a private mount namespace, the session directory is made reachable for bwrap. */
const STAGE = '/run';

export interface BubblewrapOptions {
  log: Logger;
  /** Run bwrap as this host user (needed when Paddock runs as root: root ignores process limits). */
  runAs?: { uid: number; gid: number };
}

/**
 * One bubblewrap sandbox per session: new user, PID, IPC, UTS, mount, network and cgroup
 * namespaces; the host OS read-only; /workspace and /mnt/session/outputs bound from the session's
 * host directory; a private /tmp; no network but a unix socket to the session's egress proxy.
 */
export class BubblewrapProvider implements SandboxProvider {
  readonly name = 'bubblewrap' as const;
  private readonly agentSource = readFileSync(agentScriptPath());

  constructor(private readonly opts: BubblewrapOptions) {}

  /** Why bubblewrap cannot be used here, or undefined when a sandbox starts. */
  static probe(runAs?: { uid: number; gid: number }): string | undefined {
    const which = spawnSync('bwrap', ['--version'], { encoding: 'utf8' });
    if (which.error || which.status !== 0) return 'bubblewrap (bwrap) is not installed; install the Debian package "bubblewrap"';
    const cmd = wrap(['bwrap', '--unshare-all', '--die-with-parent', ...systemMounts(), '--', '/bin/sh', '-c', 'true'], runAs, undefined);
    const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) return `bwrap cannot create namespaces here (user namespaces disabled?): ${(r.stderr || r.error?.message || '').trim()}`;
    return undefined;
  }

  async start(spec: SandboxSpec): Promise<Sandbox> {
    const proxy = new EgressProxy(spec.dirs.proxySocket, spec.egress);
    await proxy.start();
    const staged = this.opts.runAs ? STAGE + '/s' : spec.dirs.root;
    const rel = (p: string) => path.join(staged, path.relative(spec.dirs.root, p));
    const agentConfig: AgentConfig = {
      workspace: PATHS.workspace,
      env: toolEnv(),
      limits: agentLimits(spec.limits),
      ownsPidNamespace: true,
      proxySocket: PROXY_SOCKET,
      proxyPort: PROXY_PORT,
    };
    const args = [
      'bwrap',
      '--unshare-all',
      '--die-with-parent',
      '--new-session',
      '--hostname',
      'sandbox',
      ...systemMounts(),
      '--proc', '/proc',
      '--dev', '/dev',
      '--size', String(spec.limits.tmpMib * 1024 * 1024), '--tmpfs', '/tmp',
      '--dir', '/run/paddock',
      '--bind', rel(spec.dirs.proxySocket), PROXY_SOCKET,
      '--bind', rel(spec.dirs.workspace), PATHS.workspace,
      '--bind', rel(spec.dirs.outputs), PATHS.outputs,
      '--dir', PATHS.uploads,
      ...spec.mounts.flatMap((m) => ['--ro-bind', rel(m.hostPath), m.path]),
      '--ro-bind-data', '3', AGENT_PATH,
      // The sandbox's own root (a tmpfs) is read-only too: writable places are the mounts above.
      '--remount-ro', '/',
      '--chdir', PATHS.workspace,
      '--clearenv',
      '--setenv', 'PATH', '/usr/local/bin:/usr/bin:/bin',
      '--',
      '/bin/bash', '-c', `ulimit -S -H -u ${spec.limits.processes} && exec node ${AGENT_PATH} "$0"`, JSON.stringify(agentConfig),
    ];
    const cmd = wrap(args, this.opts.runAs, spec.dirs.root);
    const child = spawn(cmd[0], cmd.slice(1), { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], env: { PATH: '/usr/local/bin:/usr/bin:/bin' } });
    const dataPipe = child.stdio[3] as NodeJS.WritableStream;
    dataPipe.on('error', () => {});
    dataPipe.end(this.agentSource);
    const log = this.opts.log.child({ session_id: spec.sessionId, sandbox: 'bubblewrap' });
    const channel = new AgentChannel(child, log);
    void channel.exited.then(() => proxy.close());
    try {
      await channel.ready;
    } catch (err) {
      await proxy.close();
      throw err;
    }
    return {
      paths: PATHS,
      call: (method, params) => channel.call(method, params),
      exited: channel.exited,
      close: async () => {
        await channel.close();
        await proxy.close();
      },
    };
  }
}

/** What tool processes get: a minimal environment, none of Paddock's own (no PADDOCK_ or ANTHROPIC_ variables). */
function toolEnv(): Record<string, string> {
  const proxy = `http://127.0.0.1:${PROXY_PORT}`;
  return {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: PATHS.workspace,
    USER: 'user',
    LANG: 'C.UTF-8',
    TERM: 'dumb',
    TMPDIR: '/tmp',
    HTTP_PROXY: proxy,
    HTTPS_PROXY: proxy,
    http_proxy: proxy,
    https_proxy: proxy,
    ALL_PROXY: proxy,
    NO_PROXY: 'localhost,127.0.0.1,::1',
    no_proxy: 'localhost,127.0.0.1,::1',
    npm_config_proxy: proxy,
    npm_config_https_proxy: proxy,
    PIP_PROXY: proxy,
  };
}

function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

function systemMounts(): string[] {
  const out: string[] = [];
  for (const dir of SYSTEM_DIRS) {
    let st;
    try {
      st = lstatSync(dir);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) out.push('--symlink', readlinkSync(dir), dir);
    else if (st.isDirectory()) out.push('--ro-bind', dir, dir);
  }
  // Files under /etc that only root should read stay hidden even from a root-mapped sandbox.
  for (const secret of ['/etc/shadow', '/etc/gshadow', '/etc/sudoers']) {
    if (exists(secret)) out.push('--ro-bind', '/dev/null', secret);
  }
  if (exists('/etc/ssh')) out.push('--tmpfs', '/etc/ssh');
  const node = process.execPath;
  if (!['/usr/', '/bin/'].some((p) => node.startsWith(p))) {
    // Node lives outside the OS directories (e.g. nvm): bind its installation read-only, at /usr/local.
    out.push('--ro-bind', path.dirname(path.dirname(node)), '/usr/local');
  }
  return out;
}

/**
 * As root, bwrap runs as an unprivileged user (so process limits bind and root-only files stay
 * unreadable). That user cannot traverse the data directory, so the session directory is first
 * bind-mounted at a neutral place inside a private mount namespace that only bwrap sees.
 */
function wrap(args: string[], runAs: { uid: number; gid: number } | undefined, sessionRoot: string | undefined): string[] {
  if (!runAs) return args;
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const stage = sessionRoot
    ? `mount -t tmpfs -o size=1m,mode=0755 paddock ${STAGE} && mkdir ${STAGE}/s && mount --bind ${q(sessionRoot)} ${STAGE}/s && `
    : '';
  const drop = `exec setpriv --reuid ${runAs.uid} --regid ${runAs.gid} --clear-groups --inh-caps=-all --bounding-set=-all `;
  return ['unshare', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', stage + drop + args.map(q).join(' ')];
}
