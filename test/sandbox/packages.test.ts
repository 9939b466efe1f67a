import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, say, waitForIdle, type Ev, type Harness } from '../runtime/harness.js';
import type { RecordedRequest } from '../support/scripted-model.js';
import { PACKAGE_MANAGER_HOSTS } from '../../src/sandbox/egress/policy.js';

// Environment packages, through the official SDK against a real Paddock: installed from the real
// registries (pip and npm, through the sandbox's egress proxy) at a session's first tool call,
// used from bash, and installed once per package list.
let h: Harness;

/** The model runs the user's message as a bash command, then says "done". */
function bashThenDone(req: RecordedRequest) {
  const last = req.body.messages.at(-1);
  if (last.content.some((b: any) => b.type === 'tool_result')) return { content: [{ type: 'text' as const, text: 'done' }] };
  const command = last.content.find((b: any) => b.type === 'text').text;
  return { content: [{ type: 'tool_use' as const, name: 'bash', input: { command } }] };
}

beforeAll(async () => {
  h = await harness();
  h.model.setFallback(bashThenDone);
});
afterAll(async () => {
  await h?.close();
});

const PACKAGES = { pip: ['six==1.16.0'], npm: ['is-number@7.0.0'] };
const USE = `python3 -c 'import six; print("six", six.__version__)' && node -e 'console.log("is-number", require("is-number")(5))'`;
let n = 0;

/**
 * Limited networking that opens the package managers. Their hosts are also named exactly: on
 * this machine the registries answer at reserved addresses (through an intercepting proxy), which
 * only a host named in allowed_hosts may reach.
 */
const REGISTRIES = { type: 'limited', allowed_hosts: PACKAGE_MANAGER_HOSTS.filter((h) => !h.startsWith('*')), allow_package_managers: true };

async function environment(packages: Record<string, string[]>, networking: Record<string, unknown> = REGISTRIES) {
  return h.client.beta.environments.create({ name: `pkgs-${Date.now()}-${++n}`, config: { type: 'cloud', networking, packages } } as any);
}

async function session(envId: string): Promise<string> {
  const agent = await h.client.beta.agents.create({
    name: `pkgs-${Date.now()}-${++n}`,
    model: 'claude-sonnet-4-6',
    tools: [{ type: 'agent_toolset_20260401' }],
  } as any);
  return (await h.client.beta.sessions.create({ agent: agent.id, environment_id: envId })).id;
}

/** Sends `command` (run by bash through the scripted model) and answers the turn's log. */
async function run(sid: string, command: string, turn = 1): Promise<Ev[]> {
  await say(h.client, sid, command);
  return waitForIdle(h.client, sid, turn, 240_000);
}

const text = (e: Ev) => (e.content as Array<{ text: string }>).map((c) => c.text).join('\n');
const results = (log: Ev[]) => log.filter((e) => e.type === 'agent.tool_result');
/** Builds this Paddock ran (its log says so once per install). */
const installs = () =>
  h.p
    .output()
    .split('\n')
    .filter((l) => l.includes('"installing environment packages"')).length;

describe('environment packages', () => {
  it('installs pip and npm packages once; a second session uses them without installing again; sessions cannot write them', async () => {
    const env = await environment(PACKAGES);
    const before = installs();
    const first = await session(env.id);
    const log1 = await run(first, USE);
    expect(results(log1).map((r) => [r.is_error, text(r)])).toEqual([[false, 'six 1.16.0\nis-number true']]);
    expect(installs()).toBe(before + 1);

    const second = await session(env.id);
    const log2 = await run(
      second,
      `${USE}; touch /opt/paddock/env/pip/x; rm -f /opt/paddock/env/pip/six.py; python3 -c 'import six; print("still", six.__version__)'`,
    );
    const out = text(results(log2)[0]);
    expect(out).toMatch(/^six 1\.16\.0\nis-number true\n/);
    expect(out).toMatch(/touch: cannot touch '\/opt\/paddock\/env\/pip\/x': Read-only file system/);
    expect(out).toMatch(/rm: cannot remove '\/opt\/paddock\/env\/pip\/six\.py': Read-only file system/);
    expect(out).toMatch(/still 1\.16\.0$/);
    // No install ran for the second session: the build of the first is mounted as it is.
    expect(installs()).toBe(before + 1);
  }, 300_000);

  it('a changed package list builds anew; concurrent first sessions build it once', async () => {
    const env = await environment({ pip: ['six==1.16.0'] });
    const before = installs();
    await run(await session(env.id), `python3 -c 'import six; print(six.__version__)'`);
    expect(installs()).toBe(before + 1);
    await h.client.beta.environments.update(env.id, { config: { type: 'cloud', packages: { pip: ['six==1.15.0'] } } } as any);
    const [a, b] = await Promise.all([session(env.id), session(env.id)]);
    const [logA, logB] = await Promise.all([
      run(a, `python3 -c 'import six; print(six.__version__)'`),
      run(b, `python3 -c 'import six; print(six.__version__)'`),
    ]);
    expect([text(results(logA)[0]), text(results(logB)[0])]).toEqual(['1.15.0', '1.15.0']);
    expect(installs()).toBe(before + 2);
  }, 300_000);

  it("a failing install is a session.error with the package manager's output; the turn ends and the session stays usable", async () => {
    const env = await environment({ pip: ['paddock-no-such-package-zz9==1.0.0'] });
    const sid = await session(env.id);
    const before = installs();
    // Two calls in one response: the first finds the install failing, the second is not run.
    h.model.enqueue({
      content: [
        { type: 'tool_use', name: 'bash', input: { command: 'echo one' } },
        { type: 'tool_use', name: 'bash', input: { command: 'echo two' } },
      ],
    });
    const log = await run(sid, 'two calls');
    expect(installs()).toBe(before + 1);
    expect(log.filter((e) => e.type === 'agent.tool_use')).toHaveLength(2);
    const [result, ...others] = results(log);
    expect(others).toEqual([]);
    expect(result.is_error).toBe(true);
    const errors = log.filter((e) => e.type === 'session.error');
    expect(errors).toHaveLength(1);
    expect(errors[0].error).toMatchObject({ type: 'unknown_error', retry_status: { type: 'exhausted' } });
    expect(errors[0].error.message).toMatch(/Installing the environment's packages \(pip\) failed/);
    // pip's own words, from the registry it reached through the proxy.
    expect(errors[0].error.message).toMatch(/No matching distribution found for paddock-no-such-package-zz9==1\.0\.0/);
    expect(text(result)).toBe(errors[0].error.message);
    // The turn ended without asking the model again; the session answers the next message.
    expect(log.at(-1)).toMatchObject({ type: 'session.status_idle', stop_reason: { type: 'end_turn' } });
    const requests = h.model.requests.length;
    h.model.enqueue({ content: [{ type: 'text', text: 'still here' }] });
    const next = await run(sid, 'hello', 2);
    expect(next.filter((e) => e.type === 'agent.message').at(-1)?.content).toEqual([{ type: 'text', text: 'still here' }]);
    expect(h.model.requests.length).toBe(requests + 1);
  }, 300_000);
});
