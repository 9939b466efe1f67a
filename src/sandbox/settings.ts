import { envNumber } from '../env.js';
import { DEFAULT_CAPTURE_LIMITS, type CaptureLimits } from '../tools/outputs.js';
import { AGENT_TIMEOUTS } from './deadlines.js';
import type { SandboxLimits } from './types.js';

export interface SandboxSettings {
  /** `bubblewrap` (default), `process` (unsandboxed, explicit opt-in only) or `none`. */
  provider: 'bubblewrap' | 'process' | 'none';
  limits: SandboxLimits;
  /** A sandbox unused this long is torn down (its workspace stays). */
  idleMs: number;
  /** Host uid/gid the sandbox runs as when Paddock runs as root (root cannot be process-limited). */
  uid: number;
  gid: number;
  /**
   * A session's disk: `image` (an ext4 volume per session, the quota enforced by the kernel;
   * needs root), `directory` (plain directories, quota polled), or `auto` (image where possible).
   */
  volume: 'auto' | 'image' | 'directory';
  /** What the capture of /mnt/session/outputs copies into the Files API per turn, at most. */
  capture: CaptureLimits;
  /** How long installing an environment's packages may take (bounded by the bash tool's maximum). */
  packagesTimeoutMs: number;
  /**
   * `PADDOCK_UPSTREAM_CA_FILE`: extra certificate authorities (PEM) trusted, besides the system's,
   * when Paddock verifies a server it talks to for a sandbox (credential hosts, repositories).
   */
  upstreamCaFile?: string;
}

/** The longest one install may run: the in-sandbox agent's bound on a command (deadlines.ts). */
const PACKAGES_TIMEOUT_MAX_SECONDS = AGENT_TIMEOUTS.bashMaxMs / 1000;

/** `PADDOCK_SANDBOX*` variables; read once at start. */
export function sandboxSettings(env: NodeJS.ProcessEnv = process.env): SandboxSettings {
  const provider = (env.PADDOCK_SANDBOX || 'bubblewrap').toLowerCase();
  if (provider !== 'bubblewrap' && provider !== 'process' && provider !== 'none') {
    throw new Error(`PADDOCK_SANDBOX must be bubblewrap, process or none, got "${env.PADDOCK_SANDBOX}"`);
  }
  return {
    provider,
    limits: {
      memoryMib: envNumber(env, 'PADDOCK_SANDBOX_MEMORY_MB', 4096, { min: 1 }),
      cpuSeconds: envNumber(env, 'PADDOCK_SANDBOX_CPU_SECONDS', 3600, { min: 1 }),
      processes: envNumber(env, 'PADDOCK_SANDBOX_PROCESSES', 512, { min: 1 }),
      diskMib: envNumber(env, 'PADDOCK_SANDBOX_DISK_MB', 10_240, { min: 1 }),
      tmpMib: envNumber(env, 'PADDOCK_SANDBOX_TMP_MB', 512, { min: 1 }),
    },
    idleMs: envNumber(env, 'PADDOCK_SANDBOX_IDLE_SECONDS', 900, { min: 1 }) * 1000,
    uid: envNumber(env, 'PADDOCK_SANDBOX_UID', 65534, { min: 1 }),
    gid: envNumber(env, 'PADDOCK_SANDBOX_GID', 65534, { min: 1 }),
    volume: volumeSetting(env.PADDOCK_SANDBOX_VOLUME),
    capture: {
      bytes: envNumber(env, 'PADDOCK_SANDBOX_CAPTURE_MB', DEFAULT_CAPTURE_LIMITS.bytes / 1024 / 1024, { min: 1 }) * 1024 * 1024,
      files: envNumber(env, 'PADDOCK_SANDBOX_CAPTURE_FILES', DEFAULT_CAPTURE_LIMITS.files, { min: 1 }),
      ms: envNumber(env, 'PADDOCK_SANDBOX_CAPTURE_SECONDS', DEFAULT_CAPTURE_LIMITS.ms / 1000, { min: 1 }) * 1000,
    },
    packagesTimeoutMs: packagesTimeout(env) * 1000,
    upstreamCaFile: env.PADDOCK_UPSTREAM_CA_FILE || undefined,
  };
}

function volumeSetting(v: string | undefined): SandboxSettings['volume'] {
  const value = (v || 'auto').toLowerCase();
  if (value !== 'auto' && value !== 'image' && value !== 'directory') throw new Error(`PADDOCK_SANDBOX_VOLUME must be auto, image or directory, got "${v}"`);
  return value;
}

function packagesTimeout(env: NodeJS.ProcessEnv): number {
  const s = envNumber(env, 'PADDOCK_PACKAGES_TIMEOUT_SECONDS', PACKAGES_TIMEOUT_MAX_SECONDS, { min: 1 });
  if (s > PACKAGES_TIMEOUT_MAX_SECONDS) throw new Error(`PADDOCK_PACKAGES_TIMEOUT_SECONDS must be at most ${PACKAGES_TIMEOUT_MAX_SECONDS}, got "${env.PADDOCK_PACKAGES_TIMEOUT_SECONDS}"`);
  return s;
}
