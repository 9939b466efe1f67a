import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_MANAGER_HOSTS } from '../../src/sandbox/egress/policy.js';
import { startGitServer, type GitServer } from '../support/git-server.js';
import { events, harness, say, waitForIdle, type Ev, type Harness } from '../runtime/harness.js';

// A sandbox start prepares the environment's packages and the session's repositories and
// credentials together, through the official SDK against a real Paddock: one sandbox has all
// three; a failed install ends the turn before anything is cloned, while a repository that
// cannot be cloned leaves the turn going (docs/runtime.md, "Setup errors").

const TOKEN = `ghp_setup${Math.random().toString(36).slice(2)}`;
let git: GitServer;
let h: Harness;
let agentId: string;
let vaultId: string;
let n = 0;

beforeAll(async () => {
  git = await startGitServer([TOKEN]);
  git.createRepo('acme', 'widgets', { main: { 'README.md': 'hello widgets\n' } });
  h = await harness({ PADDOCK_GITHUB_URL: git.url, PADDOCK_OUTBOUND_ALLOW_HOSTS: '127.0.0.1' });
  agentId = (await h.client.beta.agents.create({ name: `setup-${Date.now()}`, model: 'claude-sonnet-4-6', tools: [{ type: 'agent_toolset_20260401' }] } as any))
    .id;
  const vault = await h.client.beta.vaults.create({ display_name: 'setup' });
  vaultId = vault.id;
  const cred = (secret_name: string) =>
    h.client.beta.vaults.credentials.create(vault.id, {
      auth: { type: 'environment_variable', secret_name, secret_value: `secret-${secret_name}`, networking: { type: 'limited', allowed_hosts: ['127.0.0.1'] } },
    } as any);
  await cred('API_TOKEN');
  // A name the packages set: the sandbox's value wins over the credential's placeholder.
  await cred('PYTHONPATH');
});
afterAll(async () => {
  await h?.close();
  await git?.close();
});

/** The registries (named exactly too: here they answer at reserved addresses) and the local git server. */
async function environment(packages: Record<string, string[]>): Promise<string> {
  const allowed_hosts = [...PACKAGE_MANAGER_HOSTS.filter((x) => !x.startsWith('*')), `127.0.0.1:${git.port}`];
  const env = await h.client.beta.environments.create({
    name: `setup-${Date.now()}-${++n}`,
    config: { type: 'cloud', networking: { type: 'limited', allowed_hosts, allow_package_managers: true }, packages },
  } as any);
  return env.id;
}

async function session(envId: string, repo: string): Promise<string> {
  const resources = [{ type: 'github_repository', url: `${git.url}/acme/${repo}`, authorization_token: TOKEN }];
  return (await h.client.beta.sessions.create({ agent: agentId, environment_id: envId, vault_ids: [vaultId], resources } as any)).id;
}

/**
 * One turn: the scripted model makes these bash calls in one response, then (when the turn gets
 * that far) says "done".
 */
async function turn(sid: string, commands: string[], opts: { endsEarly?: boolean } = {}): Promise<Ev[]> {
  const before = (await events(h.client, sid)).filter((e) => e.type === 'session.status_idle').length;
  h.model.enqueue({ content: commands.map((command) => ({ type: 'tool_use' as const, name: 'bash', input: { command } })) });
  if (!opts.endsEarly) h.model.enqueue({ content: [{ type: 'text', text: 'done' }] });
  await say(h.client, sid, 'go');
  return waitForIdle(h.client, sid, before + 1, 240_000);
}

const text = (e: Ev) => (e.content as Array<{ text: string }>).map((c) => c.text).join('\n');
const results = (log: Ev[]) => log.filter((e) => e.type === 'agent.tool_result');
const errors = (log: Ev[]) => log.filter((e) => e.type === 'session.error').map((e) => e.error as { type: string; retry_status: { type: string } });
const clones = () => git.requests.filter((r) => r.path.includes('git-upload-pack')).length;

describe('a sandbox with packages, a repository and credentials', () => {
  it('has all three: the packages on PYTHONPATH (over a credential of that name), the clone at its mount path, the credential as a placeholder', async () => {
    const sid = await session(await environment({ pip: ['six==1.16.0'] }), 'widgets');
    const log = await turn(sid, [
      `python3 -c 'import six; print("six", six.__version__)'; echo "$PYTHONPATH"; cat /workspace/widgets/README.md; echo "$API_TOKEN" | cut -c1-15`,
    ]);
    expect(errors(log)).toEqual([]);
    expect(results(log).map((r) => [r.is_error, text(r)])).toEqual([[false, 'six 1.16.0\n/opt/paddock/env/pip\nhello widgets\npaddock-secret-']]);
    expect(log.at(-1)).toMatchObject({ type: 'session.status_idle', stop_reason: { type: 'end_turn' } });
  }, 300_000);

  it('a failed install ends the turn before anything is cloned; the other call is not run', async () => {
    const sid = await session(await environment({ pip: ['paddock-no-such-package-zz9==1.0.0'] }), 'widgets');
    const before = clones();
    const requests = h.model.requests.length;
    const log = await turn(sid, ['echo one', 'echo two'], { endsEarly: true });
    expect(errors(log)).toMatchObject([{ type: 'unknown_error', retry_status: { type: 'exhausted' } }]);
    expect(results(log).map((r) => r.is_error)).toEqual([true]);
    expect(clones()).toBe(before);
    // The model was asked once (the two calls), not again after the failure.
    expect(h.model.requests.length).toBe(requests + 1);
    expect(log.at(-1)).toMatchObject({ type: 'session.status_idle', stop_reason: { type: 'end_turn' } });
  }, 300_000);

  it('a repository that cannot be cloned leaves the turn going: the calls run with the packages, the model is asked again', async () => {
    const sid = await session(await environment({ pip: ['six==1.16.0'] }), 'missing');
    const log = await turn(sid, [`python3 -c 'import six; print("six", six.__version__)'; ls /workspace`, 'echo two']);
    expect(errors(log)).toMatchObject([{ type: 'repository_not_found_error', retry_status: { type: 'retrying' } }]);
    expect(results(log).map((r) => [r.is_error, text(r)])).toEqual([
      [false, 'six 1.16.0'],
      [false, 'two'],
    ]);
    expect(log.filter((e) => e.type === 'agent.message').map(text)).toEqual(['done']);
    expect(log.at(-1)).toMatchObject({ type: 'session.status_idle', stop_reason: { type: 'end_turn' } });
  }, 300_000);
});
