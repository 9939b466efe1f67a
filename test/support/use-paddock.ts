import { afterAll, beforeAll } from 'vitest';
import { startPaddock, type PaddockProcess, type StartOptions } from './paddock.js';

/**
 * One Paddock process for the enclosing test file (or describe block): started before its tests,
 * stopped after them. The returned handle is filled in when the process is up, so read its
 * fields inside tests and hooks, not at module level.
 */
export function usePaddock(opts?: StartOptions): PaddockProcess {
  const handle = {} as PaddockProcess;
  beforeAll(async () => {
    Object.assign(handle, await startPaddock(opts));
  });
  afterAll(async () => {
    await handle.stop?.();
  });
  return handle;
}
