import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The compiled tool agent (dist/tools/agent/agent.js). From the TypeScript sources (tests), the
 * built copy in dist/ is used: the agent runs as plain JavaScript inside the sandbox.
 */
export function agentScriptPath(): string {
  const here = fileURLToPath(import.meta.url);
  const sibling = path.join(path.dirname(here), '../tools/agent/agent.js');
  if (existsSync(sibling)) return sibling;
  const root = here.slice(0, here.lastIndexOf(`${path.sep}src${path.sep}`));
  return path.join(root, 'dist/tools/agent/agent.js');
}
