import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import type { Logger } from 'pino';
import type { Networking } from '../domain/environments.js';
import type { Session } from '../domain/sessions.js';
import type { ToolCall, ToolDefinition, ToolExecutor, ToolOutcome } from '../runtime/tool-executor.js';
import { EgressGate } from '../sandbox/egress/gate.js';
import type { PackageCache } from '../sandbox/packages/cache.js';
import { preparePackages, packageFailure } from '../sandbox/packages/session.js';
import type { SandboxSettings } from '../sandbox/settings.js';
import type { Sandbox, SandboxProvider, SessionDirs } from '../sandbox/types.js';
import type { SessionExtras } from '../sandbox/session-extras.js';
import type { SessionVolumes } from '../sandbox/volume.js';
import { definitionsFor } from './definitions.js';
import { captureOutputs, type OutputFiles } from './outputs.js';
import { WorkspaceQuota } from './quota.js';
import { webFetch } from './web-fetch.js';
import { messageOf } from '../error-info.js';

/** The Files API slice the executor uses: capture outputs, and read file resources to mount. */
export interface SessionFiles extends OutputFiles {
  content(id: string): Promise<{ stream: Readable }>;
}

export interface SandboxExecutorOptions {
  dataDir: string;
  log: Logger;
  settings: SandboxSettings;
  /** Undefined when no sandbox can run here; `unavailable` then says why. */
  provider?: SandboxProvider;
  unavailable?: string;
  /** Paddock's own port (known once it listens): never reachable from a sandbox. */
  serverPort: () => number;
  files?: SessionFiles;
  /** Host user owning the session directories (when the sandbox runs as another user). */
  owner?: { uid: number; gid: number };
  /** Each session's disk is a volume of its own (enforced quota); otherwise plain directories. */
  volumes?: SessionVolumes;
  /** Installs and caches environments' packages; undefined where they cannot be installed. */
  packages?: PackageCache;
  /** Credentials and repositories brought into sandboxes (src/sandbox/session-extras.ts). */
  extras?: SessionExtras;
}

interface Live {
  sandbox: Promise<Sandbox>;
  idle?: NodeJS.Timeout;
}

const READ_ONLY = new Set(['read', 'glob', 'grep']);
const SANDBOX_TOOLS = new Set(['bash', 'read', 'write', 'edit', 'glob', 'grep']);
const WRITING_TOOLS = new Set(['bash', 'write', 'edit']);

const errorOutcome = (text: string): ToolOutcome => ({ is_error: true, content: [{ type: 'text', text }] });

function networkingOf(call: ToolCall): Networking {
  const c = call.environment.config;
  return c.type === 'cloud' ? c.networking : { type: 'unrestricted' };
}

/** Hosts of the agent's MCP servers (what `allow_mcp_servers` opens). */
function mcpHostsOf(session: Session): string[] {
  return (session.agent.mcp_servers as Array<{ url: string }>).flatMap((s) => {
    try {
      return [new URL(s.url).hostname];
    } catch {
      return [];
    }
  });
}

function toolConfig(session: Session, name: string): Record<string, unknown> | undefined {
  for (const t of session.agent.tools) {
    if (t.type !== 'agent_toolset_20260401') continue;
    const config = t.configs.find((c) => c.name === name);
    return config && { ...config };
  }
  return undefined;
}

/**
 * Runs the built-in tools of `agent_toolset_20260401` for the runtime: one sandbox per session,
 * started at its first tool call, torn down when the session is archived, deleted or idle.
 */
export class SandboxToolExecutor implements ToolExecutor {
  private readonly live = new Map<string, Live>();
  private readonly gates = new Map<string, EgressGate>();
  /** Sandboxes being stopped: a session's next sandbox starts only once its last one is gone. */
  private readonly closing = new Map<string, Promise<void>>();
  private readonly quota: WorkspaceQuota;
  /** Per session: the repositories its live sandbox was started with (SessionExtras.changed). */
  private readonly repositoriesMounted = new Map<string, Map<string, string>>();

  constructor(private readonly opts: SandboxExecutorOptions) {
    this.quota = new WorkspaceQuota(opts.settings.limits.diskMib);
  }

  definitions(names: string[], config: Record<string, Record<string, unknown>>): ToolDefinition[] {
    return definitionsFor(names, config);
  }

  isReadOnly(name: string): boolean {
    return READ_ONLY.has(name);
  }

  dirs(sessionId: string): SessionDirs {
    if (!/^[A-Za-z0-9_-]+$/.test(sessionId)) throw new Error(`invalid session id ${sessionId}`);
    const root = path.join(this.opts.dataDir, 'sandboxes', sessionId);
    if (this.opts.volumes) {
      const mountPoint = path.join(root, 'volume');
      return {
        root,
        workspace: path.join(mountPoint, 'workspace'),
        outputs: path.join(mountPoint, 'outputs'),
        resources: path.join(mountPoint, '.paddock', 'resources'),
        proxySocket: path.join(mountPoint, '.paddock', 'proxy.sock'),
        volume: { image: path.join(root, 'volume.img'), mountPoint },
      };
    }
    return {
      root,
      workspace: path.join(root, 'workspace'),
      outputs: path.join(root, 'outputs'),
      resources: path.join(root, 'resources'),
      proxySocket: path.join(root, 'proxy.sock'),
    };
  }

  async execute(call: ToolCall): Promise<ToolOutcome> {
    if (call.name === 'web_search') {
      return errorOutcome(
        "web_search runs on the model provider's side as a server tool; Paddock has no search backend of its own, and this provider did not run it.",
      );
    }
    const gate = this.gate(call);
    let outcome: ToolOutcome;
    if (call.name === 'web_fetch') outcome = await webFetch(call.input, gate, toolConfig(call.session, 'web_fetch'), call.signal);
    else if (!SANDBOX_TOOLS.has(call.name)) return errorOutcome(`Unknown built-in tool ${call.name}.`);
    else if (!this.opts.provider) return errorOutcome(`The ${call.name} tool is unavailable: ${this.opts.unavailable ?? 'no sandbox is configured'}.`);
    else outcome = await this.inSandbox(call);
    const denials = gate.takeDenials();
    if (denials.length) {
      const lines = denials.map((d) => `[paddock] network egress refused: ${d.host}:${d.port} (${d.reason})`);
      outcome = { ...outcome, content: [...outcome.content, { type: 'text', text: lines.join('\n') }] };
    }
    return outcome;
  }

  private gate(call: ToolCall): EgressGate {
    let gate = this.gates.get(call.session.id);
    if (!gate) {
      gate = new EgressGate({
        sessionId: call.session.id,
        networking: networkingOf(call),
        mcpHosts: mcpHostsOf(call.session),
        serverPort: this.opts.serverPort,
        log: this.opts.log,
      });
      this.gates.set(call.session.id, gate);
    }
    return gate;
  }

  private async inSandbox(call: ToolCall): Promise<ToolOutcome> {
    const id = call.session.id;
    const dirs = this.dirs(id);
    await this.restartForNewRepositories(call);
    let sandbox: Sandbox;
    try {
      sandbox = await this.sandboxFor(call, dirs);
    } catch (err) {
      const failed = packageFailure(err);
      if (failed) return failed;
      // Interrupted while waiting for the environment's packages: the runner reports the interrupt.
      if (call.signal.aborted) return errorOutcome(`The ${call.name} call was interrupted.`);
      this.opts.log.error({ err, session_id: call.session.id }, 'sandbox failed to start');
      return errorOutcome(`The sandbox could not be started: ${messageOf(err)}`);
    }
    if (call.name === 'write' || call.name === 'edit') {
      const disk = await this.quota.measure(id, dirs);
      if (disk.full) return errorOutcome(this.quota.exceeded(disk.used));
    }
    const writes = WRITING_TOOLS.has(call.name);
    const before = writes ? await this.quota.lastMeasured(id, dirs) : 0;
    const interrupted = () => errorOutcome(`The ${call.name} call was interrupted.`);
    // An interrupt that came while the sandbox was starting never reaches the listener.
    if (call.signal.aborted) return interrupted();
    const onAbort = () => void sandbox.call('cancel', {});
    call.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const result = (await sandbox.call(call.name as 'bash', call.input)) as ToolOutcome;
      if (call.signal.aborted) return interrupted();
      if (!writes) return result;
      const disk = await this.quota.measure(id, dirs);
      if (!disk.full) return result;
      // The call that filled the disk failed for it (its writes were refused or it was stopped).
      if (disk.used > before) return { is_error: true, content: [...result.content, { type: 'text', text: this.quota.exceeded(disk.used) }] };
      return { ...result, content: [...result.content, { type: 'text', text: this.quota.stillOver(disk.used) }] };
    } finally {
      call.signal.removeEventListener('abort', onAbort);
      this.touch(id);
    }
  }

  private sandboxFor(call: ToolCall, dirs: SessionDirs): Promise<Sandbox> {
    const id = call.session.id;
    let live = this.live.get(id);
    if (!live) {
      const sandbox = this.start(call, dirs);
      live = { sandbox };
      this.live.set(id, live);
      const entry = live;
      sandbox.then(
        (s) => void s.exited.then(() => this.forget(id, entry)),
        () => this.forget(id, entry),
      );
    }
    return live.sandbox;
  }

  private forget(id: string, entry: Live): void {
    if (this.live.get(id) !== entry) return;
    clearTimeout(entry.idle);
    this.live.delete(id);
  }

  private touch(id: string): void {
    const live = this.live.get(id);
    if (!live) return;
    clearTimeout(live.idle);
    live.idle = setTimeout(() => void this.release(id, 'idle'), this.opts.settings.idleMs);
    live.idle.unref();
  }

  private async start(call: ToolCall, dirs: SessionDirs): Promise<Sandbox> {
    // Two sandboxes of one session would share its egress socket path (and its workspace).
    await this.closing.get(call.session.id)?.catch(() => undefined);
    const packages = await preparePackages(this.opts.packages, call.environment, call.signal);
    await fs.mkdir(dirs.root, { recursive: true, mode: 0o711 });
    await fs.chmod(dirs.root, 0o711);
    if (dirs.volume) {
      await this.opts.volumes!.mount(dirs.volume.image, dirs.volume.mountPoint);
    } else {
      for (const d of [dirs.workspace, dirs.outputs, dirs.resources]) await fs.mkdir(d, { recursive: true, mode: 0o755 });
      const owner = this.opts.owner;
      if (owner) for (const d of [dirs.workspace, dirs.outputs]) await fs.chown(d, owner.uid, owner.gid);
    }
    const mounts = await this.fileResources(call.session, dirs);
    const extras = await this.opts.extras?.prepare(call.session, dirs, networkingOf(call), mcpHostsOf(call.session));
    if (extras) this.repositoriesMounted.set(call.session.id, extras.attempted);
    const started = Date.now();
    const sandbox = await this.opts.provider!.start({
      sessionId: call.session.id,
      dirs,
      networking: networkingOf(call),
      mounts,
      limits: this.opts.settings.limits,
      egress: this.gate(call),
      packages,
      env: extras?.env,
      binds: extras?.binds,
      injector: extras?.injector,
    });
    // Background writers are bounded all the time the sandbox lives, not only during a call.
    const guard = this.quota.guard(call.session.id, dirs, () => void sandbox.call('cancel', {}));
    void sandbox.exited.then(() => guard.stop());
    this.opts.log.info({ session_id: call.session.id, provider: this.opts.provider!.name, ms: Date.now() - started }, 'sandbox started');
    return sandbox;
  }

  /**
   * A repository added while the sandbox runs (or retried with a new token) can only be mounted
   * by a new sandbox: the running one is stopped first (its background processes end; the
   * workspace stays).
   */
  private async restartForNewRepositories(call: ToolCall): Promise<void> {
    const id = call.session.id;
    if (!this.live.has(id) || !this.opts.extras?.changed(call.session, this.repositoriesMounted.get(id))) return;
    this.opts.log.info({ session_id: id }, "sandbox restarts to mount the session's new repositories");
    await this.release(id, 'idle');
  }

  /** File resources are copied beside the workspace and mounted read-only at their mount paths. */
  private async fileResources(session: Session, dirs: SessionDirs): Promise<Array<{ hostPath: string; path: string }>> {
    const mounts: Array<{ hostPath: string; path: string }> = [];
    for (const r of session.resources) {
      if (r.type !== 'file' || typeof r.file_id !== 'string' || !/^[A-Za-z0-9_-]+$/.test(r.file_id)) continue;
      const mountPath = typeof r.mount_path === 'string' && r.mount_path ? r.mount_path : `/mnt/session/uploads/${r.file_id}`;
      const hostPath = path.join(dirs.resources, r.file_id);
      if (!this.opts.files) continue;
      try {
        await fs.access(hostPath);
      } catch {
        const { stream } = await this.opts.files.content(r.file_id);
        await pipeline(stream, createWriteStream(hostPath, { mode: 0o644 }));
      }
      mounts.push({ hostPath, path: path.posix.normalize(mountPath) });
    }
    return mounts;
  }

  async afterTurn(session: Session): Promise<void> {
    if (!this.opts.files) return;
    const dirs = this.dirs(session.id);
    const n = await captureOutputs(this.opts.files, session.id, dirs.outputs, path.join(dirs.root, 'outputs.json'), this.opts.log, this.opts.settings.capture);
    if (n) this.opts.log.info({ session_id: session.id, files: n }, 'captured session outputs');
  }

  async release(sessionId: string, reason: 'archived' | 'deleted' | 'idle'): Promise<void> {
    const live = this.live.get(sessionId);
    if (live) {
      this.forget(sessionId, live);
      const closed = live.sandbox.then(
        (s) => s.close(),
        () => undefined,
      );
      this.closing.set(sessionId, closed);
      await closed;
      if (this.closing.get(sessionId) === closed) this.closing.delete(sessionId);
      this.opts.log.info({ session_id: sessionId, reason }, 'sandbox stopped');
    }
    const volume = this.dirs(sessionId).volume;
    if (volume && !this.live.has(sessionId)) await this.opts.volumes!.unmount(volume.mountPoint);
    if (reason === 'deleted') {
      this.gates.delete(sessionId);
      this.repositoriesMounted.delete(sessionId);
      this.quota.forget(sessionId);
      await fs.rm(this.dirs(sessionId).root, { recursive: true, force: true });
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.live.keys()].map((id) => this.release(id, 'idle')));
    // Volumes of sandboxes that ended by themselves (crashed, killed) are still mounted.
    await this.opts.volumes?.unmountAll().catch((err: unknown) => this.opts.log.warn({ err }, 'could not unmount session volumes'));
  }
}
