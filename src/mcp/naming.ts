import { createHash } from 'node:crypto';

/** The longest name Paddock gives an MCP tool: 64 characters of `[A-Za-z0-9_-]`, which every Messages API endpoint takes. */
export const MAX_TOOL_NAME = 64;

const clean = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '_');

/**
 * Names for MCP tools as the model sees them: `mcp__<server>__<tool>`, with any character the
 * Messages API does not take in a name replaced by `_`. When that name is too long or already
 * taken (by a built-in or custom tool, or by another MCP tool that cleans to the same text), it is
 * cut and given a suffix from a hash of the server and tool names, so every name offered in one
 * request is distinct and a given tool keeps its name as long as the names around it stay the
 * same. Calls are routed by the event (`mcp_server_name`, `name`), never by parsing a name back.
 */
export class ToolNames {
  private readonly taken: Set<string>;

  constructor(taken: Iterable<string>) {
    this.taken = new Set(taken);
  }

  name(server: string, tool: string): string {
    const base = `mcp__${clean(server)}__${clean(tool)}`;
    let name = base;
    for (let i = 0; name.length > MAX_TOOL_NAME || this.taken.has(name); i++) {
      const suffix = '_' + createHash('sha256').update(`${server}\0${tool}\0${i}`).digest('hex').slice(0, 8);
      name = base.slice(0, MAX_TOOL_NAME - suffix.length) + suffix;
    }
    this.taken.add(name);
    return name;
  }
}
