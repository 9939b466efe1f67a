import { mkdtempSync, promises as fs, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { toFile } from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raw } from '../support/paddock.js';
import { startGitServer, type GitServer } from '../support/git-server.js';
import { testCertificates } from '../support/tls.js';
import { events, harness, say, waitForIdle, type Ev, type Harness } from '../runtime/harness.js';

// Repository resources through the official SDK: Paddock clones them (server-side, the token in
// that one git process's environment) before the session's first tool call; inside the sandbox
// git fetches and pushes through the egress proxy, which adds the token for that repository only.
// The served repositories come from a local smart-HTTP git server that requires the token.

const TOKEN = `ghp_repoSecret${Math.random().toString(36).slice(2)}`;
const ROTATED = `ghp_rotatedSecret${Math.random().toString(36).slice(2)}`;
/** Every form of a token that must never show up: plain, as basic auth, URL-encoded. */
const forms = (t: string) => [t, Buffer.from(`x-access-token:${t}`).toString('base64'), encodeURIComponent(t)];

let git: GitServer;
let h: Harness;
let envId: string;
let agentId: string;

beforeAll(async () => {
  git = await startGitServer([TOKEN]);
  git.createRepo('acme', 'widgets', { main: { 'README.md': 'hello main\n' }, feature: { 'README.md': 'hello feature\n' } });
  // The server-side clone reaches the local git server only because the operator allows it.
  h = await harness({ PADDOCK_GITHUB_URL: git.url, PADDOCK_OUTBOUND_ALLOW_HOSTS: '127.0.0.1' });
  const env = await h.client.beta.environments.create({
    name: `repos-${Date.now()}`,
    config: { type: 'cloud', networking: { type: 'limited', allowed_hosts: [`127.0.0.1:${git.port}`] } },
  } as any);
  envId = env.id;
  agentId = (await h.client.beta.agents.create({ name: `repos-${Date.now()}`, model: 'claude-sonnet-4-6', tools: [{ type: 'agent_toolset_20260401' }] } as any))
    .id;
});
afterAll(async () => {
  await h?.close();
  await git?.close();
});

const text = (e: Ev) => (e.content as Array<{ text: string }>).map((c) => c.text).join('\n');

/** One turn whose scripted model runs these bash commands in order; returns the new events. */
async function turn(sessionId: string, commands: string[]): Promise<{ results: Ev[]; log: Ev[] }> {
  const before = (await events(h.client, sessionId)).filter((e) => e.type === 'session.status_idle').length;
  h.model.enqueue(...commands.map((command) => ({ content: [{ type: 'tool_use' as const, name: 'bash', input: { command } }] })), {
    content: [{ type: 'text', text: 'done' }],
  });
  await say(h.client, sessionId, 'go');
  const log = await waitForIdle(h.client, sessionId, before + 1, 120_000);
  const results = log.filter((e) => e.type === 'agent.tool_result').slice(-commands.length);
  return { results, log };
}

function session(resources: Array<Record<string, unknown>>) {
  return h.client.beta.sessions.create({ agent: agentId, environment_id: envId, resources } as any);
}

/** Regular files of a directory tree (what the sandbox's mounts hold), without following links. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

// Inside the sandbox 127.0.0.1 is the sandbox's own loopback, so NO_PROXY skips the proxy for it;
// the local git server stands in for github.com, which git reaches through the proxy as it is.
const VIA_PROXY = 'NO_PROXY= no_proxy=';

describe('a github_repository resource', () => {
  it('is checked out at mount_path; git log, commit and push work from bash; no token anywhere in the sandbox', async () => {
    const s = await session([
      { type: 'github_repository', url: `${git.url}/acme/widgets`, authorization_token: TOKEN, checkout: { type: 'branch', name: 'feature' } },
    ]);
    const { results, log } = await turn(s.id, [
      'cd /workspace/widgets && git rev-parse --abbrev-ref HEAD && cat README.md && git log --format=%s',
      `cd /workspace/widgets && echo from-agent > agent.txt && git add agent.txt && git -c user.name=Agent -c user.email=agent@example.test commit -q -m "agent commit" && ${VIA_PROXY} git push -q origin feature 2>&1; echo pushed:$?`,
      `cd /workspace/widgets && ${VIA_PROXY} git fetch -q origin 2>&1; echo fetched:$? && git branch -r`,
      // What a process in the sandbox can see: its environment, every process's command line and
      // environment, git's configuration at every level, credential helper files.
      'env; for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline; echo; tr "\\0" "\\n" < $p/environ; done 2>/dev/null; git -C /workspace/widgets config --list --show-origin; cat /workspace/widgets/.git/config; ls -a ~ /workspace/widgets/.git; cat ~/.git-credentials ~/.gitconfig 2>&1 | head -5',
    ]);
    expect(results.map((r) => r.is_error)).toEqual([false, false, false, false]);
    expect(text(results[0])).toBe('feature\nhello feature\nfeature: first commit');
    expect(text(results[1])).toBe('pushed:0');
    expect(text(results[2])).toMatch(/^fetched:0\n\s*origin\/HEAD -> origin\/main\n\s*origin\/feature\n\s*origin\/main$/);
    // The push landed in the served repository.
    expect(git.git('acme', 'widgets', 'log', '--format=%s', 'feature').trim().split('\n')).toEqual(['agent commit', 'feature: first commit']);
    expect(git.git('acme', 'widgets', 'show', 'feature:agent.txt')).toBe('from-agent\n');
    // The token went to the git server, from the clone and from the proxy for the push.
    expect(git.requests.filter((r) => r.path.endsWith('/git-receive-pack')).map((r) => r.token)).toEqual([TOKEN]);
    // The sandbox's view holds no token: the scan above, and every file of its mounts.
    const scan = text(results[3]);
    expect(scan).toContain('remote.origin.url');
    expect(scan).toMatch(/HTTPS_PROXY=http:\/\/127\.0\.0\.1:3128/);
    for (const f of forms(TOKEN)) expect(scan).not.toContain(f);
    const dir = path.join(h.p.dataDir, 'sandboxes', s.id);
    const files = (await filesUnder(dir)).filter((f) => !f.endsWith('volume.img'));
    expect(files.some((f) => f.endsWith(path.join('.git', 'config')))).toBe(true);
    for (const f of files) {
      const bytes = await fs.readFile(f);
      for (const form of forms(TOKEN)) expect(bytes.includes(form), f).toBe(false);
    }
    // Nor any event, nor any log line.
    const all = JSON.stringify(log);
    for (const f of forms(TOKEN)) {
      expect(all).not.toContain(f);
      expect(h.p.output()).not.toContain(f);
    }
  });

  it('while the server-side clone runs, no process on the host shows the token in its command line', async () => {
    const release = git.pause();
    try {
      const s = await session([{ type: 'github_repository', url: `${git.url}/acme/widgets`, authorization_token: TOKEN, mount_path: '/workspace/held' }]);
      const before = git.requests.length;
      const done = turn(s.id, ['cat /workspace/held/README.md']);
      while (git.requests.length === before) await new Promise((r) => setTimeout(r, 20));
      const cmdlines: string[] = [];
      for (const pid of await fs.readdir('/proc')) {
        if (/^\d+$/.test(pid)) cmdlines.push(await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => ''));
      }
      // The clone is waiting on the server: its git processes are there, without the token.
      expect(cmdlines.some((c) => c.includes('clone') && c.includes(`${git.url}/acme/widgets`))).toBe(true);
      for (const f of forms(TOKEN)) expect(cmdlines.filter((c) => c.includes(f))).toEqual([]);
      release();
      expect(text((await done).results[0])).toBe('hello main');
    } finally {
      release();
    }
  });

  it('with a wrong token: repository_authentication_error, and the session goes on; a new token clones it before the next call', async () => {
    const s = await session([{ type: 'github_repository', url: `${git.url}/acme/widgets`, authorization_token: 'ghp_wrong', mount_path: '/src/widgets' }]);
    const first = await turn(s.id, ['ls /src/widgets 2>&1; echo listed']);
    const errors = first.log.filter((e) => e.type === 'session.error');
    expect(errors.map((e) => e.error)).toEqual([
      {
        type: 'repository_authentication_error',
        message: expect.stringContaining(`Could not clone ${git.url}/acme/widgets`),
        repository_url: `${git.url}/acme/widgets`,
        retry_status: { type: 'retrying' },
      },
    ]);
    // The tool call ran without the repository, and the turn ended normally.
    expect(text(first.results[0])).toMatch(/No such file or directory\nlisted$/);
    expect(first.log.at(-1)).toMatchObject({ type: 'session.status_idle', stop_reason: { type: 'end_turn' } });

    const rid = ((await h.client.beta.sessions.resources.list(s.id)).data[0] as { id: string }).id;
    await h.client.beta.sessions.resources.update(rid, { session_id: s.id, authorization_token: TOKEN } as any);
    const second = await turn(s.id, ['cat /src/widgets/README.md']);
    expect(text(second.results[0])).toBe('hello main');
    expect(second.log.filter((e) => e.type === 'session.error')).toHaveLength(1);
  });

  it('a rotated token takes effect on the next git request', async () => {
    const s = await session([{ type: 'github_repository', url: `${git.url}/acme/widgets`, authorization_token: TOKEN, mount_path: '/workspace/rot' }]);
    const fetch = `cd /workspace/rot && ${VIA_PROXY} git fetch -q origin 2>&1; echo fetched:$?`;
    expect(text((await turn(s.id, [fetch])).results[0])).toBe('fetched:0');
    // The server now accepts only the new token: the old one stops working...
    git.tokens.clear();
    git.tokens.add(ROTATED);
    expect(text((await turn(s.id, [fetch])).results[0])).toMatch(/(Authentication failed|could not read Username|401)[\s\S]*fetched:128$/);
    // ...until the resource gets it: the very next request carries it.
    const rid = ((await h.client.beta.sessions.resources.list(s.id)).data[0] as { id: string }).id;
    await h.client.beta.sessions.resources.update(rid, { session_id: s.id, authorization_token: ROTATED } as any);
    expect(text((await turn(s.id, [fetch])).results[0])).toBe('fetched:0');
    git.tokens.add(TOKEN);
  });

  it('a commit checkout leaves HEAD detached at that commit', async () => {
    const sha = git.git('acme', 'widgets', 'rev-parse', 'main').trim();
    const s = await session([
      {
        type: 'github_repository',
        url: `${git.url}/acme/widgets.git`,
        authorization_token: TOKEN,
        mount_path: '/workspace/at',
        checkout: { type: 'commit', sha: sha.slice(0, 12) },
      },
      {
        type: 'github_repository',
        url: `${git.url}/acme/widgets`,
        authorization_token: TOKEN,
        mount_path: '/workspace/none',
        checkout: { type: 'commit', sha: 'deadbeefdeadbeef' },
      },
    ]);
    const { log, results } = await turn(s.id, ['cd /workspace/at && git rev-parse HEAD && git status | head -1']);
    expect(text(results[0])).toBe(`${sha}\nHEAD detached at ${sha.slice(0, 7)}`);
    expect(log.filter((e) => e.type === 'session.error').map((e) => [e.error.type, e.error.message])).toEqual([
      ['repository_checkout_error', expect.stringContaining('commit deadbeefdeadbeef could not be checked out')],
    ]);
  });

  it('a branch that does not exist, or a repository that does not: their own session errors', async () => {
    const s = await session([
      { type: 'github_repository', url: `${git.url}/acme/widgets`, authorization_token: TOKEN, checkout: { type: 'branch', name: 'no-such-branch' } },
      { type: 'github_repository', url: `${git.url}/acme/ghost`, authorization_token: TOKEN },
    ]);
    const { log, results } = await turn(s.id, ['ls -A /workspace']);
    expect(text(results[0])).toBe('(no output)');
    const errors = log.filter((e) => e.type === 'session.error').map((e) => [e.error.type, (e.error as { repository_url: string }).repository_url]);
    expect(errors).toEqual([
      ['repository_checkout_error', `${git.url}/acme/widgets`],
      ['repository_not_found_error', `${git.url}/acme/ghost`],
    ]);
  });
});

describe('bad input', () => {
  it('refuses repositories outside the configured GitHub, and mounts inside a repository', async () => {
    const file = await h.client.beta.files.upload({ file: await toFile(Buffer.from('x'), 'x.txt', { type: 'text/plain' }) });
    const bad: Array<[unknown[], RegExp]> = [
      [[{ type: 'github_repository', url: 'https://gitlab.com/acme/widgets' }], /must be a repository on http:\/\/127\.0\.0\.1/],
      [[{ type: 'github_repository', url: `${git.url}/acme/widgets/tree/main` }], /must name a repository/],
      [[{ type: 'github_repository', url: `${git.url}/acme/widgets;rm -rf` }], /must name a repository/],
      [[{ type: 'github_repository', url: `${git.url}/acme/widgets`, checkout: { type: 'branch', name: '--upload-pack=touch /tmp/x' } }], /checkout\.name/],
      [
        [
          { type: 'github_repository', url: `${git.url}/acme/widgets`, mount_path: '/workspace/app' },
          { type: 'file', file_id: file.id, mount_path: '/workspace/app/config.json' },
        ],
        /resources\.1\.mount_path: \/workspace\/app\/config\.json overlaps \/workspace\/app/,
      ],
      [
        [
          { type: 'github_repository', url: `${git.url}/acme/widgets`, mount_path: '/workspace/app' },
          { type: 'github_repository', url: `${git.url}/acme/other`, mount_path: '/workspace/app' },
        ],
        /resources\.1\.mount_path: \/workspace\/app is already a mount path/,
      ],
    ];
    for (const [resources, msg] of bad) {
      const r = await raw(h.p, 'POST', '/v1/sessions', {
        body: { agent: agentId, environment_id: envId, resources },
        headers: { 'anthropic-beta': 'managed-agents-2026-04-01' },
      });
      expect(r.status, JSON.stringify(resources)).toBe(400);
      expect(r.json.error.message).toMatch(msg);
    }
    const s = await session([{ type: 'github_repository', url: `${git.url}/acme/widgets`, mount_path: '/workspace/app' }]);
    const added = await raw(h.p, 'POST', `/v1/sessions/${s.id}/resources`, {
      body: { type: 'file', file_id: file.id, mount_path: '/workspace/app/x' },
      headers: { 'anthropic-beta': 'managed-agents-2026-04-01' },
    });
    expect(added.status).toBe(400);
    expect(added.json.error.message).toMatch(/body\.mount_path: \/workspace\/app\/x overlaps \/workspace\/app/);
  });
});

describe('server-side clones', () => {
  it('reach a loopback git server only when PADDOCK_OUTBOUND_ALLOW_HOSTS names it', async () => {
    const strict = await harness({ PADDOCK_GITHUB_URL: git.url });
    try {
      const env = await strict.client.beta.environments.create({
        name: `strict-${Date.now()}`,
        config: { type: 'cloud', networking: { type: 'limited', allowed_hosts: [`127.0.0.1:${git.port}`] } },
      } as any);
      const agent = await strict.client.beta.agents.create({
        name: `strict-${Date.now()}`,
        model: 'claude-sonnet-4-6',
        tools: [{ type: 'agent_toolset_20260401' }],
      } as any);
      const s = await strict.client.beta.sessions.create({
        agent: agent.id,
        environment_id: env.id,
        resources: [{ type: 'github_repository', url: `${git.url}/acme/widgets`, authorization_token: TOKEN }],
      } as any);
      const before = git.requests.length;
      strict.model.enqueue(
        { content: [{ type: 'tool_use', name: 'bash', input: { command: 'ls -A /workspace' } }] },
        { content: [{ type: 'text', text: 'done' }] },
      );
      await say(strict.client, s.id, 'go');
      const log = await waitForIdle(strict.client, s.id, 1, 60_000);
      expect(log.filter((e) => e.type === 'session.error').map((e) => e.error)).toEqual([
        expect.objectContaining({
          type: 'repository_clone_error',
          message: expect.stringMatching(/refused: 127\.0\.0\.1 is a loopback address \(PADDOCK_OUTBOUND_ALLOW_HOSTS can allow it\)/),
        }),
      ]);
      expect(git.requests.length).toBe(before);
    } finally {
      await strict.close();
    }
  });
});

describe('a repository served over HTTPS (as github.com is)', () => {
  it('is cloned verifying the server, and the proxy adds the token inside TLS it opens with the egress CA', async () => {
    const certs = testCertificates(['127.0.0.1']);
    const caFile = path.join(mkdtempSync(path.join(tmpdir(), 'paddock-git-ca-')), 'ca.pem');
    writeFileSync(caFile, certs.caPem);
    const secure = await startGitServer([TOKEN], { tls: { key: certs.keyPem, cert: certs.certPem } });
    secure.createRepo('acme', 'tls', { main: { 'README.md': 'over tls\n' } });
    const h2 = await harness({ PADDOCK_GITHUB_URL: secure.url, PADDOCK_OUTBOUND_ALLOW_HOSTS: '127.0.0.1', PADDOCK_UPSTREAM_CA_FILE: caFile });
    try {
      const env = await h2.client.beta.environments.create({
        name: `tls-${Date.now()}`,
        config: { type: 'cloud', networking: { type: 'limited', allowed_hosts: [`127.0.0.1:${secure.port}`] } },
      } as any);
      const agent = await h2.client.beta.agents.create({
        name: `tls-${Date.now()}`,
        model: 'claude-sonnet-4-6',
        tools: [{ type: 'agent_toolset_20260401' }],
      } as any);
      const s = await h2.client.beta.sessions.create({
        agent: agent.id,
        environment_id: env.id,
        resources: [{ type: 'github_repository', url: `${secure.url}/acme/tls`, authorization_token: TOKEN }],
      } as any);
      const command = `cd /workspace/tls && cat README.md && echo more >> README.md && git -c user.name=A -c user.email=a@example.test commit -qam tls && ${VIA_PROXY} git push -q origin main 2>&1; echo pushed:$?`;
      h2.model.enqueue({ content: [{ type: 'tool_use', name: 'bash', input: { command } }] }, { content: [{ type: 'text', text: 'done' }] });
      await say(h2.client, s.id, 'go');
      const log = await waitForIdle(h2.client, s.id, 1, 60_000);
      expect(log.filter((e) => e.type === 'session.error')).toEqual([]);
      expect(text(log.find((e) => e.type === 'agent.tool_result')!)).toBe('over tls\npushed:0');
      expect(secure.git('acme', 'tls', 'log', '--format=%s', 'main').trim().split('\n')).toEqual(['tls', 'main: first commit']);
      expect(secure.requests.filter((r) => r.path.endsWith('/git-receive-pack')).map((r) => r.token)).toEqual([TOKEN]);
    } finally {
      await h2.close();
      await secure.close();
    }
  });
});
