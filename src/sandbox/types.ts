import type { Networking } from '../domain/environments.js';
import type { AgentBlock, AgentConfig, AgentMethod } from '../tools/agent/protocol.js';
import type { EgressGate } from './egress/gate.js';
import type { Injector } from './egress/inject.js';

/**
 * The sandbox port: where a session's tools run. A provider gives each session an isolated
 * place with the session's directories mounted, running the tool agent, and a channel to it.
 */

export interface SandboxLimits {
  memoryMib: number;
  cpuSeconds: number;
  processes: number;
  /** The workspace (plus outputs) disk quota. */
  diskMib: number;
  /** The private /tmp, a size-limited tmpfs. */
  tmpMib: number;
}

/** Host directories of one session: `<dataDir>/sandboxes/<session_id>/…`. */
export interface SessionDirs {
  root: string;
  workspace: string;
  outputs: string;
  /** Copies of the session's file resources, mounted read-only at their mount paths. */
  resources: string;
  /** The egress proxy's unix socket. */
  proxySocket: string;
  /**
   * Set when the session's disk is a volume of its own (src/sandbox/volume.ts): workspace,
   * outputs, resources and the proxy socket are then inside it, at `mountPoint`.
   */
  volume?: { image: string; mountPoint: string };
}

export interface SandboxSpec {
  sessionId: string;
  dirs: SessionDirs;
  networking: Networking;
  /** Read-only files: host path → absolute path inside the sandbox. */
  mounts: Array<{ hostPath: string; path: string }>;
  limits: SandboxLimits;
  egress: EgressGate;
  /** The environment's installed packages (src/sandbox/packages/), if it has any. */
  packages?: PackagePrefix;
  /** Read-write directories: host path → absolute path inside the sandbox (cloned repositories). */
  binds?: Array<{ hostPath: string; path: string }>;
  /** Variables for tool processes beyond the sandbox's own (credential placeholders). */
  env?: Record<string, string>;
  /** What the egress proxy adds to requests on their way out (credentials, repository tokens). */
  injector?: Injector;
}

/**
 * A directory of installed packages, mounted at `PACKAGES_PATH`: read-only in sessions, writable
 * only by the sandbox that installs into it. `env` is added to every tool process's environment.
 */
export interface PackagePrefix {
  hostPath: string;
  writable: boolean;
  env: Record<string, string>;
}

/** Where an environment's packages are, inside every sandbox. */
export const PACKAGES_PATH = '/opt/paddock/env';

/** Paths as the tools (and the model) see them. */
export interface SandboxPaths {
  workspace: string;
  outputs: string;
  uploads: string;
}

export interface Sandbox {
  readonly paths: SandboxPaths;
  call(method: AgentMethod, params: Record<string, unknown>): Promise<{ is_error: boolean; content: AgentBlock[] }>;
  /** Resolves when the sandbox is gone (closed, crashed or killed). */
  readonly exited: Promise<void>;
  close(): Promise<void>;
}

export interface SandboxProvider {
  readonly name: 'bubblewrap' | 'process';
  start(spec: SandboxSpec): Promise<Sandbox>;
}

/** The sandbox's limits in the units the in-sandbox agent applies them (ulimit). */
export function agentLimits(limits: SandboxLimits): AgentConfig['limits'] {
  return {
    memoryKib: limits.memoryMib * 1024,
    cpuSeconds: limits.cpuSeconds,
    fileSizeBytes: limits.diskMib * 1024 * 1024,
    processes: limits.processes,
  };
}
