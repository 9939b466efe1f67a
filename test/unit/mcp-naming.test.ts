import { describe, expect, it } from 'vitest';
import { MAX_TOOL_NAME, ToolNames } from '../../src/mcp/naming.js';

describe('MCP tool names offered to the model', () => {
  const VALID = /^[A-Za-z0-9_-]{1,64}$/;

  it('are mcp__<server>__<tool> when that is free, valid and short enough', () => {
    expect(new ToolNames([]).name('github', 'create_issue')).toBe('mcp__github__create_issue');
  });

  it('replace characters the Messages API does not take, and stay distinct when two tools clean to the same text', () => {
    const names = new ToolNames(['bash']);
    const a = names.name('my server', 'files.read');
    const b = names.name('my server', 'files_read');
    expect(a).toBe('mcp__my_server__files_read');
    expect(b).toMatch(/^mcp__my_server__files_read_[0-9a-f]{8}$/);
  });

  it('never take a name already offered (built-in or custom) and never exceed 64 characters', () => {
    const long = 's'.repeat(255);
    const names = new ToolNames(['mcp__docs__echo']);
    const offered = [names.name('docs', 'echo'), names.name(long, 'tool'), names.name(long, 'tool2'), names.name('docs', 't'.repeat(128))];
    for (const n of offered) expect(n).toMatch(VALID);
    expect(offered[0]).not.toBe('mcp__docs__echo');
    expect(new Set([...offered, 'mcp__docs__echo']).size).toBe(offered.length + 1);
    expect(Math.max(...offered.map((n) => n.length))).toBe(MAX_TOOL_NAME);
  });

  it('are the same for the same tools in the same order (a tool keeps its name from request to request)', () => {
    const run = () => {
      const names = new ToolNames(['lookup']);
      return [names.name('a', 'x.y'), names.name('a', 'x_y'), names.name('b'.repeat(80), 'z')];
    };
    expect(run()).toEqual(run());
  });
});
