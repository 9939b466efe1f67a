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
import type { SandboxSettings } from '../sandbox/settings.js';
import type { Sandbox, SandboxProvider, SessionDirs } from '../sandbox/types.js';
import { definitionsFor } from './definitions.js';
import { captureOutputs, diskUsage, type OutputFiles } from './outputs.js';
import { webFetch } from './web-fetch.js';

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
}

interface Live {
  sandbox: Promise<Sandbox>;
  idle?: NodeJS.Timeout;
}

const READ_ONLY = new Set(['read', 'glob', 'grep']);
const SANDBOX_TOOLS = new Set(['bash', 'read', 'write', 'edit', 'glob', 'grep']);
const QUOTA_POLL_MS = 1000;

const errorOutcome = (text: string): ToolOutcome => ({ is_error: true, content: [{ type: 'text', text }] });

function networkingOf(call: ToolCall): Networking {
  const c = call.environment.config;
  return c.type === 'cloud' ? c.networking : { type: 'unrestricted' };
}

function toolConfig(session: Session, name: string): Record<string, unknown> | undefined {
  for (const t of session.agent.tools as Array<Record<string, unknown>>) {
    if (t.type !== 'agent_toolset_20260401' || !Array.isArray(t.configs)) continue;
    return (t.configs as Array<Record<string, unknown>>).find((c) => c.name === name);
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

  constructor(private readonly opts: SandboxExecutorOptions) {}

  definitions(names: string[], config: Record<string, Record<string, unknown>>): ToolDefinition[] {
    return definitionsFor(names, config);
  }

  isReadOnly(name: string): boolean {
    return READ_ONLY.has(name);
  }

  dirs(sessionId: string): SessionDirs {
    if (!/^[A-Za-z0-9_-]+$/.test(sessionId)) throw new Error(`invalid session id ${sessionId}`);
    const root = path.join(this.opts.dataDir, 'sandboxes', sessionId);
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
      const mcpHosts = (call.session.agent.mcp_servers as Array<{ url: string }>).flatMap((s) => {
        try {
          return [new URL(s.url).hostname];
        } catch {
          return [];
        }
      });
      gate = new EgressGate({ sessionId: call.session.id, networking: networkingOf(call), mcpHosts, serverPort: this.opts.serverPort, log: this.opts.log });
      this.gates.set(call.session.id, gate);
    }
    return gate;
  }

  private async inSandbox(call: ToolCall): Promise<ToolOutcome> {
    const dirs = this.dirs(call.session.id);
    const quota = this.opts.settings.limits.diskMib * 1024 * 1024;
    if ((call.name === 'write' || call.name === 'edit') && (await this.usage(dirs)) > quota) return errorOutcome(this.overQuota(await this.usage(dirs)));
    let sandbox: Sandbox;
    try {
      sandbox = await this.sandboxFor(call, dirs);
    } catch (err) {
      this.opts.log.error({ err, session_id: call.session.id }, 'sandbox failed to start');
      return errorOutcome(`The sandbox could not be started: ${(err as Error).message}`);
    }
    const onAbort = () => void sandbox.call('cancel', {});
    call.signal.addEventListener('abort', onAbort, { once: true });
    // A command filling the disk is stopped while it runs, not only afterwards.
    let overQuota = 0;
    const poll =
      call.name === 'bash'
        ? setInterval(() => {
            void this.usage(dirs).then((used) => {
              if (used > quota && !overQuota) {
                overQuota = used;
                void sandbox.call('cancel', {});
              }
            });
          }, QUOTA_POLL_MS)
        : undefined;
    try {
      const result = (await sandbox.call(call.name as 'bash', call.input)) as ToolOutcome;
      if (call.signal.aborted) return errorOutcome(`The ${call.name} call was interrupted.`);
      if (!overQuota && (call.name === 'bash' || call.name === 'write' || call.name === 'edit')) {
        const used = await this.usage(dirs);
        if (used > quota) overQuota = used;
      }
      if (overQuota) return { is_error: true, content: [...result.content, { type: 'text', text: this.overQuota(overQuota) }] };
      return result;
    } finally {
      clearInterval(poll);
      call.signal.removeEventListener('abort', onAbort);
      this.touch(call.session.id);
    }
  }

  private async usage(dirs: SessionDirs): Promise<number> {
    return (await diskUsage(dirs.workspace)) + (await diskUsage(dirs.outputs));
  }

  private overQuota(used: number): string {
    const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
    return `[paddock] the workspace disk quota is exceeded (${mib(used)} MiB used of ${this.opts.settings.limits.diskMib} MiB); the command was stopped. Delete files to continue.`;
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
    await fs.mkdir(dirs.root, { recursive: true, mode: 0o711 });
    await fs.chmod(dirs.root, 0o711);
    for (const d of [dirs.workspace, dirs.outputs, dirs.resources]) await fs.mkdir(d, { recursive: true, mode: 0o755 });
    const owner = this.opts.owner;
    if (owner) for (const d of [dirs.workspace, dirs.outputs]) await fs.chown(d, owner.uid, owner.gid);
    const mounts = await this.fileResources(call.session, dirs);
    const started = Date.now();
    const sandbox = await this.opts.provider!.start({
      sessionId: call.session.id,
      dirs,
      networking: networkingOf(call),
      mounts,
      limits: this.opts.settings.limits,
      egress: this.gate(call),
    });
    this.opts.log.info({ session_id: call.session.id, provider: this.opts.provider!.name, ms: Date.now() - started }, 'sandbox started');
    return sandbox;
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
    try {
      await fs.access(dirs.outputs);
    } catch {
      return;
    }
    const n = await captureOutputs(this.opts.files, session.id, dirs.outputs, path.join(dirs.root, 'outputs.json'), this.opts.log);
    if (n) this.opts.log.info({ session_id: session.id, files: n }, 'captured session outputs');
  }

  async release(sessionId: string, reason: 'archived' | 'deleted' | 'idle'): Promise<void> {
    const live = this.live.get(sessionId);
    if (live) {
      this.forget(sessionId, live);
      const sandbox = await live.sandbox.catch(() => undefined);
      await sandbox?.close();
      this.opts.log.info({ session_id: sessionId, reason }, 'sandbox stopped');
    }
    if (reason === 'deleted') {
      this.gates.delete(sessionId);
      await fs.rm(this.dirs(sessionId).root, { recursive: true, force: true });
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.live.keys()].map((id) => this.release(id, 'idle')));
  }
}
