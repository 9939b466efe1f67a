import { spawn, spawnSync } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import type tls from 'node:tls';
import type { Logger } from 'pino';
import type { AgentConfig } from '../../tools/agent/protocol.js';
import { agentScriptPath } from '../agent-source.js';
import { AgentChannel } from '../channel.js';
import { AGENT_TIMEOUTS, callDeadlineMs } from '../deadlines.js';
import { SYSTEM_BUNDLES, type EgressCA } from '../egress/ca.js';
import { EgressProxy } from '../egress/proxy.js';
import { agentLimits, PACKAGES_PATH, type Sandbox, type SandboxProvider, type SandboxSpec } from '../types.js';

const PATHS = { workspace: '/workspace', outputs: '/mnt/session/outputs', uploads: '/mnt/session/uploads' };
const AGENT_PATH = '/opt/paddock/agent.mjs';
const PROXY_SOCKET = '/run/paddock/proxy.sock';
const PROXY_PORT = 3128;
/** Host directories the sandbox sees, read-only: the OS and its tools, nothing else. */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];
/**
 * What of the host's /etc the sandbox sees: what programs need to run (the dynamic linker's
 * cache, alternatives symlinks, CA certificates, time zone, language runtimes' settings), never
 * the rest (a world-readable unit file or config with a key in it would leak). Named exactly or
 * by prefix (`java-`, `python3`); missing ones are skipped.
 */
const ETC_ALLOWED = [
  'alternatives',
  'ssl',
  'ca-certificates',
  'ca-certificates.conf',
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'localtime',
  'timezone',
  'mime.types',
  'protocols',
  'services',
  'nsswitch.conf',
  'host.conf',
  'gai.conf',
  'os-release',
  'debian_version',
  'inputrc',
  'magic',
  'magic.mime',
  'perl',
  'fonts',
  'xml',
  'sgml',
  'bindresvport.blacklist',
];
const ETC_ALLOWED_PREFIXES = ['java-', 'python3', 'ruby', 'php'];
/** Where, in a private mount namespace, the session directory is made reachable for bwrap. */
const STAGE = '/run';

export interface BubblewrapOptions {
  log: Logger;
  /** Run bwrap as this host user (needed when Paddock runs as root: root ignores process limits). */
  runAs?: { uid: number; gid: number };
  /** The installation's egress CA (sandboxes trust it) and the trust for the servers behind it. */
  egress?: { ca: EgressCA; upstreamTrust: tls.SecureContext };
}

/** Where the sandbox finds the egress CA alone (NODE_EXTRA_CA_CERTS) and the whole bundle it trusts. */
const CA_PATHS = { ca: '/etc/paddock/egress-ca.pem', bundle: '/etc/paddock/ca-certificates.crt' };

/**
 * One bubblewrap sandbox per session: new user, PID, IPC, UTS, mount, network and cgroup
 * namespaces; the host OS read-only; /workspace and /mnt/session/outputs bound from the session's
 * host directory; a private /tmp; no network but a unix socket to the session's egress proxy.
 */
export class BubblewrapProvider implements SandboxProvider {
  readonly name = 'bubblewrap' as const;
  private readonly agentSource = readFileSync(agentScriptPath());
  /** The trust files every sandbox gets (see trustFiles). */
  private readonly trust: Array<{ path: string; content: string }>;

  constructor(private readonly opts: BubblewrapOptions) {
    this.trust = opts.egress ? trustFiles(opts.egress.ca.certPem) : [];
  }

  /** Why bubblewrap cannot be used here, or undefined when a sandbox starts. */
  static probe(runAs?: { uid: number; gid: number }): string | undefined {
    const which = spawnSync('bwrap', ['--version'], { encoding: 'utf8' });
    if (which.error || which.status !== 0) return 'bubblewrap (bwrap) is not installed; install the Debian package "bubblewrap"';
    // The bash tool's shell runs in a sandbox nested in the session's: both levels must work.
    const nested = [
      'bwrap',
      '--unshare-all',
      '--die-with-parent',
      ...systemMounts(),
      '--proc',
      '/proc',
      '--dev',
      '/dev',
      '--tmpfs',
      '/tmp',
      '--',
      ...SHELL_PREFIX,
      '/bin/sh',
      '-c',
      'true',
    ];
    const r = spawnSync(...splitCmd(wrap(nested, runAs, undefined)), { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0)
      return `bwrap cannot create nested namespaces here (user namespaces disabled or limited?): ${(r.stderr || r.error?.message || '').trim()}`;
    return undefined;
  }

  async start(spec: SandboxSpec): Promise<Sandbox> {
    const intercept =
      spec.injector && !spec.injector.empty && this.opts.egress ? { injector: spec.injector, ...this.opts.egress, log: this.opts.log } : undefined;
    const proxy = new EgressProxy(spec.dirs.proxySocket, spec.egress, intercept);
    await proxy.start();
    const staged = this.opts.runAs ? STAGE + '/s' : spec.dirs.root;
    const rel = (p: string) => path.join(staged, path.relative(spec.dirs.root, p));
    const stages = [{ host: spec.dirs.root, at: STAGE + '/s' }];
    if (spec.packages) stages.push({ host: spec.packages.hostPath, at: STAGE + '/p' });
    const packagesDir = this.opts.runAs ? STAGE + '/p' : spec.packages?.hostPath;
    const agentConfig: AgentConfig = {
      workspace: PATHS.workspace,
      env: withPackages(toolEnv(spec.env ?? {}, this.trust.length > 0), spec.packages?.env),
      limits: agentLimits(spec.limits),
      timeouts: AGENT_TIMEOUTS,
      shellPrefix: SHELL_PREFIX,
      ownsPidNamespace: true,
      proxySocket: PROXY_SOCKET,
      proxyPort: PROXY_PORT,
    };
    const uid = this.opts.runAs?.uid ?? process.getuid?.() ?? 65534;
    const gid = this.opts.runAs?.gid ?? process.getgid?.() ?? 65534;
    // fd 3 carries the agent; the rest, the sandbox's own /etc files (see etcFiles).
    const etc = [...etcFiles(uid, gid), ...this.trust];
    const args = [
      'bwrap',
      '--unshare-all',
      '--die-with-parent',
      '--new-session',
      '--hostname',
      'sandbox',
      ...systemMounts(),
      ...etcMounts(),
      ...etc.flatMap((f, i) => ['--ro-bind-data', String(4 + i), f.path]),
      '--proc',
      '/proc',
      '--dev',
      '/dev',
      '--size',
      String(spec.limits.tmpMib * 1024 * 1024),
      '--tmpfs',
      '/tmp',
      '--dir',
      '/run/paddock',
      '--bind',
      rel(spec.dirs.proxySocket),
      PROXY_SOCKET,
      '--bind',
      rel(spec.dirs.workspace),
      PATHS.workspace,
      '--bind',
      rel(spec.dirs.outputs),
      PATHS.outputs,
      '--dir',
      PATHS.uploads,
      ...spec.mounts.flatMap((m) => ['--ro-bind', rel(m.hostPath), m.path]),
      ...(spec.packages ? [spec.packages.writable ? '--bind' : '--ro-bind', packagesDir!, PACKAGES_PATH] : []),
      ...(spec.binds ?? []).flatMap((m) => ['--bind', rel(m.hostPath), m.path]),
      '--ro-bind-data',
      '3',
      AGENT_PATH,
      // The sandbox's own root (a tmpfs) is read-only too: writable places are the mounts above.
      '--remount-ro',
      '/',
      '--remount-ro',
      '/etc',
      '--chdir',
      PATHS.workspace,
      '--clearenv',
      '--setenv',
      'PATH',
      '/usr/local/bin:/usr/bin:/bin',
      '--',
      '/bin/bash',
      '-c',
      `ulimit -S -H -u ${spec.limits.processes} && exec node ${AGENT_PATH} "$0"`,
      JSON.stringify(agentConfig),
    ];
    const cmd = wrap(args, this.opts.runAs, stages);
    const child = spawn(cmd[0], cmd.slice(1), {
      stdio: ['pipe', 'pipe', 'pipe', 'pipe', ...etc.map(() => 'pipe' as const)],
      env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
    });
    [this.agentSource, ...etc.map((f) => f.content)].forEach((data, i) => {
      const pipe = child.stdio[3 + i] as NodeJS.WritableStream;
      pipe.on('error', () => {});
      pipe.end(data);
    });
    const log = this.opts.log.child({ session_id: spec.sessionId, sandbox: 'bubblewrap' });
    const channel = new AgentChannel(child, log);
    void channel.exited.then(() => proxy.close()).catch((err: unknown) => log.warn({ err }, 'egress proxy did not close cleanly'));
    try {
      await channel.ready;
    } catch (err) {
      await proxy.close();
      throw err;
    }
    return {
      paths: PATHS,
      call: (method, params) => channel.call(method, params, callDeadlineMs(method, params)),
      exited: channel.exited,
      close: async () => {
        await channel.close();
        await proxy.close();
      },
    };
  }
}

/**
 * What tool processes get: a minimal environment, none of Paddock's own (no PADDOCK_ or
 * ANTHROPIC_ variables), plus `extra` (credential placeholders) where it names nothing of ours.
 */
function toolEnv(extra: Record<string, string>, trustsEgressCa: boolean): Record<string, string> {
  const proxy = `http://127.0.0.1:${PROXY_PORT}`;
  const own: Record<string, string> = {
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
    ...(trustsEgressCa
      ? {
          // The egress CA, for the hosts where the proxy opens TLS up, in each runtime's own terms.
          SSL_CERT_FILE: CA_PATHS.bundle,
          CURL_CA_BUNDLE: CA_PATHS.bundle,
          REQUESTS_CA_BUNDLE: CA_PATHS.bundle,
          PIP_CERT: CA_PATHS.bundle,
          GIT_SSL_CAINFO: CA_PATHS.bundle,
          npm_config_cafile: CA_PATHS.bundle,
          NODE_EXTRA_CA_CERTS: CA_PATHS.ca,
        }
      : {}),
  };
  return { ...extra, ...own };
}

/**
 * The egress CA in the sandbox: alone, in a bundle with the host's CAs, and in place of the
 * host's bundle at its usual path (for programs that read no variable).
 */
function trustFiles(caPem: string): Array<{ path: string; content: string }> {
  let hostBundle: string | undefined;
  let system = '';
  for (const f of SYSTEM_BUNDLES) {
    try {
      system = readFileSync(f, 'utf8');
      hostBundle = f;
      break;
    } catch {
      // not this distribution's path
    }
  }
  const bundle = `${system.trimEnd()}\n${caPem.trim()}\n`.trimStart();
  const files = [
    { path: CA_PATHS.ca, content: caPem },
    { path: CA_PATHS.bundle, content: bundle },
  ];
  // Only under /etc/ssl, which the sandbox binds from the host: other distributions' paths stay theirs.
  if (hostBundle === SYSTEM_BUNDLES[0]) files.push({ path: hostBundle, content: bundle });
  return files;
}

/** The packages' variables on top of the tools' own; their PATH entries come first. */
function withPackages(env: Record<string, string>, extra: Record<string, string> | undefined): Record<string, string> {
  if (!extra) return env;
  return { ...env, ...extra, ...(extra.PATH ? { PATH: `${extra.PATH}:${env.PATH}` } : {}) };
}

/**
 * The bash tool's shell and everything it starts run one level deeper, in new user and PID
 * namespaces: the agent (and its stdin/stdout to Paddock) is not in their PID namespace, so they
 * cannot signal it, ptrace it, pidfd_getfd its channel or open its /proc entries.
 */
const SHELL_PREFIX = [
  'bwrap',
  '--unshare-user',
  '--unshare-pid',
  '--unshare-ipc',
  '--die-with-parent',
  '--new-session',
  '--bind',
  '/',
  '/',
  '--proc',
  '/proc',
  '--dev',
  '/dev',
  '--',
];

function splitCmd(cmd: string[]): [string, string[]] {
  return [cmd[0], cmd.slice(1)];
}

/** The sandbox's generated /etc files: who it is, its host name, and that DNS is not reachable. */
function etcFiles(uid: number, gid: number): Array<{ path: string; content: string }> {
  const user = uid === 0 ? 'root' : 'user';
  return [
    {
      path: '/etc/passwd',
      content: `root:x:0:0:root:/root:/usr/sbin/nologin\n${uid === 0 ? '' : `${user}:x:${uid}:${gid}:sandbox user:${PATHS.workspace}:/bin/bash\n`}`,
    },
    { path: '/etc/group', content: `root:x:0:\n${gid === 0 ? '' : `${user}:x:${gid}:\n`}` },
    { path: '/etc/hostname', content: 'sandbox\n' },
    { path: '/etc/hosts', content: '127.0.0.1\tlocalhost sandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n' },
    // Names are resolved by the egress proxy, outside; HTTP(S)_PROXY is the way out.
    { path: '/etc/resolv.conf', content: '# no DNS inside the sandbox: use HTTP(S) through $HTTPS_PROXY\n' },
  ];
}

function etcMounts(): string[] {
  const out = ['--tmpfs', '/etc'];
  let names: string[];
  try {
    names = readdirSync('/etc');
  } catch {
    return out;
  }
  for (const name of names.sort()) {
    if (!ETC_ALLOWED.includes(name) && !ETC_ALLOWED_PREFIXES.some((p) => name.startsWith(p))) continue;
    const p = `/etc/${name}`;
    let st;
    try {
      st = lstatSync(p);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) out.push('--symlink', readlinkSync(p), p);
    else out.push('--ro-bind', p, p);
  }
  return out;
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
  const node = process.execPath;
  if (!['/usr/', '/bin/'].some((p) => node.startsWith(p))) {
    // Node lives outside the OS directories (e.g. nvm): bind its installation read-only, at /usr/local.
    out.push('--ro-bind', path.dirname(path.dirname(node)), '/usr/local');
  }
  return out;
}

/**
 * As root, bwrap runs as an unprivileged user (so process limits bind and root-only files stay
 * unreadable). That user cannot traverse the data directory, so the session directory (and the
 * environment's packages) are first bind-mounted at neutral places inside a private mount
 * namespace that only bwrap sees.
 */
function wrap(args: string[], runAs: { uid: number; gid: number } | undefined, stages: Array<{ host: string; at: string }> = []): string[] {
  if (!runAs) return args;
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const stage = stages.length
    ? `mount -t tmpfs -o size=1m,mode=0755 paddock ${STAGE} && ` + stages.map((s) => `mkdir ${q(s.at)} && mount --rbind ${q(s.host)} ${q(s.at)} && `).join('')
    : '';
  const drop = `exec setpriv --reuid ${runAs.uid} --regid ${runAs.gid} --clear-groups --inh-caps=-all --bounding-set=-all `;
  return ['unshare', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', stage + drop + args.map(q).join(' ')];
}
