import { promises as fs } from 'node:fs';

/** Whether something is at `p` (for paths only Paddock writes; a sandbox-controlled path is opened, then checked). */
export async function pathExists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}
