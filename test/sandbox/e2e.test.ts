import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { harness, say, waitForIdle, type Ev, type Harness } from '../runtime/harness.js';

// Through the official SDK: a scripted model calls every built-in tool; Paddock runs them in a
// bubblewrap sandbox and the results land in the session's event log; outputs become files.
let h: Harness;
let site: http.Server;
let sitePort: number;
beforeAll(async () => {
  site = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('fetched through the policy'));
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  sitePort = (site.address() as AddressInfo).port;
  h = await harness();
});
afterAll(async () => {
  await h?.close();
  site.close();
});

it('runs every built-in tool in the sandbox and captures outputs into the Files API', async () => {
  const env = await h.client.beta.environments.create({
    name: `sbx-${Date.now()}`,
    config: { type: 'cloud', networking: { type: 'limited', allowed_hosts: [`127.0.0.1:${sitePort}`] } },
  } as any);
  const agent = await h.client.beta.agents.create({
    name: `tools-${Date.now()}`,
    model: 'claude-sonnet-4-6',
    tools: [{ type: 'agent_toolset_20260401' }],
  } as any);
  const session = await h.client.beta.sessions.create({ agent: agent.id, environment_id: env.id });
  const calls: Array<[string, Record<string, unknown>]> = [
    ['bash', { command: 'cd /workspace && echo "$PWD" && echo report > /mnt/session/outputs/report.txt && env | grep -c ANTHROPIC || true' }],
    ['write', { file_path: 'src/app.py', content: 'print("hello")\n' }],
    ['edit', { file_path: 'src/app.py', old_string: 'hello', new_string: 'sandbox' }],
    ['read', { file_path: '/workspace/src/app.py' }],
    ['glob', { pattern: '**/*.py' }],
    ['grep', { pattern: 'sandbox', path: 'src' }],
    ['web_fetch', { url: `http://127.0.0.1:${sitePort}/` }],
    ['bash', { command: `curl -sS -m 5 https://not-allowed.example/` }],
  ];
  h.model.enqueue(...calls.map(([name, input]) => ({ content: [{ type: 'tool_use' as const, name, input }] })), { content: [{ type: 'text', text: 'done' }] });
  await say(h.client, session.id, 'use every tool');
  const log = await waitForIdle(h.client, session.id, 1, 60_000);
  const results = log.filter((e) => e.type === 'agent.tool_result') as Ev[];
  const text = (e: Ev) => (e.content as Array<{ text: string }>).map((c) => c.text).join('\n');
  expect(results.map((r) => r.is_error)).toEqual([false, false, false, false, false, false, false, true]);
  expect(text(results[0])).toBe('/workspace\n0');
  expect(text(results[1])).toBe('wrote 15 bytes to /workspace/src/app.py');
  expect(text(results[2])).toBe('edited /workspace/src/app.py (1 replacement)');
  expect(text(results[3])).toBe('print("sandbox")\n');
  expect(text(results[4])).toBe('/workspace/src/app.py');
  expect(text(results[5])).toBe('/workspace/src/app.py:1:print("sandbox")');
  expect(text(results[6])).toMatch(/fetched through the policy/);
  expect(text(results[7])).toMatch(/network egress refused: not-allowed\.example:443/);

  // web_search is offered to the model as the provider's server tool.
  const tools = h.model.requests[0].body.tools as Array<Record<string, unknown>>;
  expect(tools).toContainEqual(expect.objectContaining({ type: 'web_search_20250305', name: 'web_search' }));
  expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['bash', 'read', 'write', 'edit', 'glob', 'grep', 'web_fetch']));

  // Outputs are captured after the turn.
  let files: any[] = [];
  while (!files.length) {
    files = [];
    for await (const f of h.client.beta.files.list({ scope_id: session.id } as any)) files.push(f);
    if (!files.length) await new Promise((r) => setTimeout(r, 100));
  }
  expect(files.map((f) => [f.filename, f.scope])).toEqual([['report.txt', { type: 'session', id: session.id }]]);
  const body = await (await h.client.beta.files.download(files[0].id)).text();
  expect(body).toBe('report\n');
});
