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
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${v}"`);
  return n;
}

/** `PADDOCK_SANDBOX*` variables; read once at start. */
export function sandboxSettings(env: NodeJS.ProcessEnv = process.env): SandboxSettings {
  const provider = (env.PADDOCK_SANDBOX || 'bubblewrap').toLowerCase();
  if (provider !== 'bubblewrap' && provider !== 'process' && provider !== 'none') {
    throw new Error(`PADDOCK_SANDBOX must be bubblewrap, process or none, got "${env.PADDOCK_SANDBOX}"`);
  }
  return {
    provider,
    limits: {
      memoryMib: int(env, 'PADDOCK_SANDBOX_MEMORY_MB', 4096),
      cpuSeconds: int(env, 'PADDOCK_SANDBOX_CPU_SECONDS', 3600),
      processes: int(env, 'PADDOCK_SANDBOX_PROCESSES', 512),
      diskMib: int(env, 'PADDOCK_SANDBOX_DISK_MB', 10_240),
      tmpMib: int(env, 'PADDOCK_SANDBOX_TMP_MB', 512),
    },
    idleMs: int(env, 'PADDOCK_SANDBOX_IDLE_SECONDS', 900) * 1000,
    uid: int(env, 'PADDOCK_SANDBOX_UID', 65534),
    gid: int(env, 'PADDOCK_SANDBOX_GID', 65534),
  };
}
