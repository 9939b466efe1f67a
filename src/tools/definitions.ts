import type { ToolDefinition } from '../runtime/tool-executor.js';

/** What the model is told about each built-in tool of `agent_toolset_20260401`. */

const obj = (properties: Record<string, unknown>, required: string[]) => ({ type: 'object', properties, required, additionalProperties: false });

const CLIENT_TOOLS: Record<string, { description: string; input_schema: Record<string, unknown> }> = {
  bash: {
    description:
      'Run a command in a persistent bash shell in the sandbox (working directory /workspace). The working directory and environment persist between calls. stdout and stderr are merged; long output keeps its last 100 KiB. A non-zero exit status is an error. Write files meant for the user to /mnt/session/outputs.',
    input_schema: obj(
      {
        command: { type: 'string', description: 'The command to run.' },
        timeout_ms: {
          type: 'integer',
          minimum: 1,
          maximum: 600000,
          description: 'Time limit for this command in milliseconds (default 120000). On timeout the shell is restarted.',
        },
        restart: { type: 'boolean', description: 'Restart the shell (fresh environment, cwd /workspace) before running the command, if any.' },
      },
      [],
    ),
  },
  read: {
    description:
      'Read a file. Relative paths resolve from /workspace. Text files are returned as they are (up to 256 KiB; use view_range or offset/limit for more); images (PNG, JPEG, GIF, WebP) are returned as images.',
    input_schema: obj(
      {
        file_path: { type: 'string', description: 'Path of the file to read.' },
        view_range: {
          type: 'array',
          items: { type: 'integer' },
          minItems: 2,
          maxItems: 2,
          description: '[start, end] lines, 1-indexed and inclusive; end <= 0 means the end of the file.',
        },
        offset: { type: 'integer', minimum: 1, description: 'First line to read (1-indexed).' },
        limit: { type: 'integer', minimum: 1, description: 'Number of lines to read.' },
      },
      ['file_path'],
    ),
  },
  write: {
    description: 'Write a file, replacing it if it exists and creating parent directories. Relative paths resolve from /workspace.',
    input_schema: obj({ file_path: { type: 'string' }, content: { type: 'string' } }, ['file_path', 'content']),
  },
  edit: {
    description: 'Replace text in a file. old_string must occur exactly once unless replace_all is true; include surrounding lines to make it unique.',
    input_schema: obj(
      {
        file_path: { type: 'string' },
        old_string: { type: 'string', description: 'The exact text to replace.' },
        new_string: { type: 'string', description: 'The replacement text.' },
        replace_all: { type: 'boolean', description: 'Replace every occurrence (default false).' },
      },
      ['file_path', 'old_string', 'new_string'],
    ),
  },
  glob: {
    description:
      'Find files by glob pattern (e.g. "**/*.ts"), relative to path (default /workspace). Returns absolute paths, most recently modified first (at most 200).',
    input_schema: obj({ pattern: { type: 'string' }, path: { type: 'string', description: 'Directory to search (default /workspace).' } }, ['pattern']),
  },
  grep: {
    description: 'Search file contents with a regular expression (ripgrep syntax) under path (default /workspace). Returns path:line:text matches.',
    input_schema: obj({ pattern: { type: 'string' }, path: { type: 'string', description: 'File or directory to search (default /workspace).' } }, ['pattern']),
  },
  web_fetch: {
    description: "Fetch a URL (http or https) and return its content as text. Subject to the environment's network policy.",
    input_schema: obj({ url: { type: 'string', description: 'The URL to fetch.' } }, ['url']),
  },
};

export const BUILT_IN_TOOLS = ['bash', 'read', 'write', 'edit', 'glob', 'grep', 'web_fetch', 'web_search'] as const;

function domainLists(config: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ['allowed_domains', 'blocked_domains'] as const) if (Array.isArray(config?.[k]) && (config[k] as unknown[]).length) out[k] = config[k];
  return out;
}

/**
 * web_search has no backend in Paddock: it is the model provider's server-side tool, passed to
 * the Messages API as such, and runs there (or nowhere, if the provider does not offer it).
 */
function webSearch(config: Record<string, unknown> | undefined): ToolDefinition {
  const tool: Record<string, unknown> = { type: 'web_search_20250305', name: 'web_search', ...domainLists(config) };
  if (config?.user_location) tool.user_location = config.user_location;
  return { kind: 'server', name: 'web_search', tool };
}

export function definitionsFor(names: string[], config: Record<string, Record<string, unknown>>): ToolDefinition[] {
  return names.flatMap((name): ToolDefinition[] => {
    if (name === 'web_search') return [webSearch(config[name])];
    const t = CLIENT_TOOLS[name];
    return t ? [{ kind: 'client', name, description: t.description, input_schema: t.input_schema }] : [];
  });
}
