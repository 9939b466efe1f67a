import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, textOf, type Harness } from './harness.js';

// Every built-in tool against a real bubblewrap sandbox, through the executor the runtime uses.
let h: Harness;
let site: http.Server;
let sitePort: number;
beforeAll(async () => {
  h = harness();
  site = http.createServer((req, res) => {
    if (req.url === '/moved') return void res.writeHead(302, { location: '/page' }).end();
    res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body><h1>Hello</h1><script>x()</script><p>from the allowed host</p></body></html>');
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  sitePort = (site.address() as AddressInfo).port;
});
afterAll(async () => {
  await h.close();
  site.close();
});

const S = 'sesn_tools';

describe('bash', () => {
  it('keeps cwd and environment between calls, in /workspace', async () => {
    expect(textOf(await h.run(S, 'bash', { command: 'pwd' }))).toBe('/workspace');
    await h.run(S, 'bash', { command: 'mkdir -p sub && cd sub && export GREETING=hi' });
    const r = await h.run(S, 'bash', { command: 'pwd; echo $GREETING' });
    expect(r.is_error).toBe(false);
    expect(textOf(r)).toBe('/workspace/sub\nhi');
  });

  it('reports a non-zero exit as an error, with the output', async () => {
    const r = await h.run(S, 'bash', { command: 'echo oops >&2; exit_code_7() { return 7; }; exit_code_7' });
    expect(r.is_error).toBe(true);
    expect(textOf(r)).toBe('oops');
    expect(textOf(await h.run(S, 'bash', { command: 'false' }))).toBe('exit 1');
  });

  it('caps long output, keeping the end, with a truncation note', async () => {
    const r = await h.run(S, 'bash', { command: 'seq 1 200000' });
    const t = textOf(r);
    expect(t.startsWith('[output truncated]\n')).toBe(true);
    expect(t.endsWith('\n200000')).toBe(true);
    expect(t.length).toBeLessThan(110 * 1024);
  });

  it('times a command out, restarts the shell, and keeps working', async () => {
    const r = await h.run(S, 'bash', { command: 'sleep 30', timeout_ms: 300 });
    expect(r.is_error).toBe(true);
    expect(textOf(r)).toMatch(/timed out after 300ms/);
    expect(textOf(await h.run(S, 'bash', { command: 'pwd' }))).toBe('/workspace');
  });

  it('restart gives a fresh shell; exit ends the session shell', async () => {
    await h.run(S, 'bash', { command: 'export KEEP=1' });
    expect(textOf(await h.run(S, 'bash', { restart: true }))).toBe('bash session restarted');
    expect(textOf(await h.run(S, 'bash', { command: 'echo "[$KEEP]"' }))).toBe('[]');
    const r = await h.run(S, 'bash', { command: 'exit 3' });
    expect(r.is_error).toBe(true);
    expect(textOf(r)).toMatch(/bash session terminated/);
    expect(textOf(await h.run(S, 'bash', { command: 'echo again' }))).toBe('again');
    expect((await h.run(S, 'bash', {})).is_error).toBe(true);
  });

  it('stops on interrupt (abort signal)', async () => {
    const ac = new AbortController();
    const started = path.join(h.executor.dirs(S).workspace, 'interrupt-started');
    const pending = h.run(S, 'bash', { command: 'touch /workspace/interrupt-started && sleep 30' }, { signal: ac.signal });
    while (
      !(await fs.access(started).then(
        () => true,
        () => false,
      ))
    )
      await new Promise((r) => setTimeout(r, 20));
    ac.abort();
    const r = await pending;
    expect(r.is_error).toBe(true);
    expect(textOf(r)).toMatch(/interrupted/);
    expect(textOf(await h.run(S, 'bash', { command: 'echo ok' }))).toBe('ok');
  });

  it('an interrupt that comes before the command starts stops it too', async () => {
    const ac = new AbortController();
    ac.abort();
    const r = await h.run(S, 'bash', { command: 'touch /workspace/never-ran' }, { signal: ac.signal });
    expect(r.is_error).toBe(true);
    expect(textOf(r)).toMatch(/interrupted/);
    await expect(fs.access(path.join(h.executor.dirs(S).workspace, 'never-ran'))).rejects.toThrow();
  });
});

describe('file tools', () => {
  it('write, read (whole, view_range, offset/limit), edit', async () => {
    expect(textOf(await h.run(S, 'write', { file_path: 'notes/a.txt', content: 'one\ntwo\nthree\ntwo\n' }))).toBe('wrote 18 bytes to /workspace/notes/a.txt');
    expect(textOf(await h.run(S, 'read', { file_path: '/workspace/notes/a.txt' }))).toBe('one\ntwo\nthree\ntwo\n');
    expect(textOf(await h.run(S, 'read', { file_path: 'notes/a.txt', view_range: [2, 3] }))).toBe('two\nthree');
    expect(textOf(await h.run(S, 'read', { file_path: 'notes/a.txt', offset: 3, limit: 1 }))).toBe('three');
    const ambiguous = await h.run(S, 'edit', { file_path: 'notes/a.txt', old_string: 'two', new_string: '2' });
    expect(ambiguous.is_error).toBe(true);
    expect(textOf(ambiguous)).toMatch(/appears 2 times/);
    expect(textOf(await h.run(S, 'edit', { file_path: 'notes/a.txt', old_string: 'one', new_string: '1' }))).toBe(
      'edited /workspace/notes/a.txt (1 replacement)',
    );
    expect(textOf(await h.run(S, 'edit', { file_path: 'notes/a.txt', old_string: 'two', new_string: '2', replace_all: true }))).toBe(
      'edited /workspace/notes/a.txt (2 replacements)',
    );
    expect(textOf(await h.run(S, 'bash', { command: 'cat notes/a.txt' }))).toBe('1\n2\nthree\n2');
    const missing = await h.run(S, 'edit', { file_path: 'notes/a.txt', old_string: 'nope', new_string: 'x' });
    expect(missing.is_error).toBe(true);
    const nofile = await h.run(S, 'read', { file_path: 'nope.txt' });
    expect(nofile.is_error).toBe(true);
    expect(textOf(nofile)).toMatch(/no such file/);
  });

  it('returns images as image content', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
    await fs.writeFile(path.join(h.executor.dirs(S).workspace, 'pixel.png'), png);
    const r = await h.run(S, 'read', { file_path: 'pixel.png' });
    expect(r.is_error).toBe(false);
    expect(r.content[0]).toEqual({ type: 'image', source: { type: 'base64', media_type: 'image/png', data: png.toString('base64') } });
  });

  it('glob lists absolute paths, newest first, skipping .git', async () => {
    await h.run(S, 'bash', { command: 'mkdir -p g/deep/x .git && touch g/a.ts .git/b.ts && sleep 0.05 && touch g/deep/x/c.ts g/d.js' });
    expect(textOf(await h.run(S, 'glob', { pattern: '**/*.ts', path: 'g' }))).toBe('/workspace/g/deep/x/c.ts\n/workspace/g/a.ts');
    expect(
      textOf(await h.run(S, 'glob', { pattern: '*.{ts,js}', path: '/workspace/g' }))
        .split('\n')
        .sort(),
    ).toEqual(['/workspace/g/a.ts', '/workspace/g/d.js']);
    expect(textOf(await h.run(S, 'glob', { pattern: '*.nothing' }))).toBe('no matches');
    expect((await h.run(S, 'glob', { pattern: '../*' })).is_error).toBe(true);
  });

  it('grep searches with ripgrep', async () => {
    await h.run(S, 'write', { file_path: 'src/m.py', content: 'def alpha():\n    return 42\n' });
    expect(textOf(await h.run(S, 'grep', { pattern: 'ret.rn \\d+', path: 'src' }))).toBe('/workspace/src/m.py:2:    return 42');
    expect(textOf(await h.run(S, 'grep', { pattern: 'zzz_absent' }))).toBe('no matches');
  });

  it('mounts file resources read-only at their mount paths', async () => {
    const files = {
      content: async () => ({ stream: (await import('node:stream')).Readable.from([Buffer.from('a,b\n1,2\n')]) }),
      create: async () => ({ id: 'x' }),
    };
    const h2 = (await import('./harness.js')).harness({}, { files });
    try {
      const resources = [{ type: 'file', file_id: 'file_01abc', mount_path: '/workspace/data.csv' }];
      expect(textOf(await h2.run('sesn_res', 'read', { file_path: '/workspace/data.csv' }, { resources }))).toBe('a,b\n1,2\n');
      const w = await h2.run('sesn_res', 'bash', { command: 'echo x >> /workspace/data.csv' }, { resources });
      expect(w.is_error).toBe(true);
      expect(textOf(w)).toMatch(/Permission denied|Read-only/i);
    } finally {
      await h2.close();
    }
  });
});

describe('web tools', () => {
  it('web_fetch reaches an allowed host and returns readable text, following redirects', async () => {
    const networking = { type: 'limited' as const, allowed_hosts: [`127.0.0.1:${sitePort}`], allow_mcp_servers: false, allow_package_managers: false };
    const r = await h.run('sesn_web', 'web_fetch', { url: `http://127.0.0.1:${sitePort}/moved` }, { networking });
    expect(r.is_error).toBe(false);
    expect(textOf(r)).toMatch(/Status: 200/);
    expect(textOf(r)).toMatch(/Hello\n*from the allowed host/);
    expect(textOf(r)).not.toMatch(/x\(\)/);
  });

  it('bash reaches an allowed host through the egress proxy', async () => {
    const networking = { type: 'limited' as const, allowed_hosts: [`127.0.0.1:${sitePort}`], allow_mcp_servers: false, allow_package_managers: false };
    const r = await h.run('sesn_web', 'bash', { command: `curl -sS --noproxy '' --proxy "$HTTP_PROXY" http://127.0.0.1:${sitePort}/page` }, { networking });
    expect(textOf(r)).toMatch(/from the allowed host/);
  });

  it("web_search is the model provider's server tool, and says so if it reaches Paddock", async () => {
    const defs = h.executor.definitions(['web_search', 'bash'], { web_search: { name: 'web_search', allowed_domains: ['example.com'] } });
    expect(defs[0]).toEqual({
      kind: 'server',
      name: 'web_search',
      tool: { type: 'web_search_20250305', name: 'web_search', allowed_domains: ['example.com'] },
    });
    expect(defs[1]).toMatchObject({ kind: 'client', name: 'bash' });
    const r = await h.run(S, 'web_search', { query: 'x' });
    expect(r.is_error).toBe(true);
    expect(textOf(r)).toMatch(/no search backend/);
  });
});

describe('lifecycle', () => {
  it('release stops the sandbox but keeps the workspace until the session is deleted', async () => {
    await h.run('sesn_life', 'bash', { command: 'echo kept > k.txt; sleep 1000 &' });
    await h.executor.release('sesn_life', 'archived');
    expect(textOf(await h.run('sesn_life', 'bash', { command: 'cat k.txt; pgrep sleep || echo none' }))).toBe('kept\nnone');
    await h.executor.release('sesn_life', 'deleted');
    await expect(fs.access(path.join(h.dataDir, 'sandboxes', 'sesn_life'))).rejects.toThrow();
  });

  it('tears an idle sandbox down', async () => {
    const h3 = harness({ idleMs: 1000 });
    try {
      await h3.run('sesn_idle', 'bash', { command: 'export IDLE=1' });
      await new Promise((r) => setTimeout(r, 1600));
      expect(textOf(await h3.run('sesn_idle', 'bash', { command: 'echo "[$IDLE]"' }))).toBe('[]');
    } finally {
      await h3.close();
    }
  });
});
