import { DEFAULT_CAPTURE_LIMITS, type CaptureLimits } from '../tools/outputs.js';
import { AGENT_TIMEOUTS } from './deadlines.js';
import type { SandboxLimits } from './types.js';

/** The sandbox's part of the configuration (`PADDOCK_SANDBOX*`, read in src/config.ts). */
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
export const PACKAGES_TIMEOUT_MAX_SECONDS = AGENT_TIMEOUTS.bashMaxMs / 1000;

export const SANDBOX_DEFAULTS: SandboxSettings = {
  provider: 'bubblewrap',
  limits: { memoryMib: 4096, cpuSeconds: 3600, processes: 512, diskMib: 10_240, tmpMib: 512 },
  idleMs: 900_000,
  uid: 65534,
  gid: 65534,
  volume: 'auto',
  capture: DEFAULT_CAPTURE_LIMITS,
  packagesTimeoutMs: PACKAGES_TIMEOUT_MAX_SECONDS * 1000,
};

export type SandboxOverrides = Partial<Omit<SandboxSettings, 'limits' | 'capture'>> & { limits?: Partial<SandboxLimits>; capture?: Partial<CaptureLimits> };

/** The defaults with some settings changed, for building a sandbox without a configuration (tests). */
export function sandboxSettings(overrides: SandboxOverrides = {}): SandboxSettings {
  const d = SANDBOX_DEFAULTS;
  return { ...d, ...overrides, limits: { ...d.limits, ...overrides.limits }, capture: { ...d.capture, ...overrides.capture } };
}
