import { PACKAGE_MANAGER_HOSTS } from '../src/sandbox/egress/policy.js';
import { startGitServer } from '../test/support/git-server.js';
import { startPaddock, type PaddockProcess } from '../test/support/paddock.js';
import { startScriptedModel } from '../test/support/scripted-model.js';
import { harness, textOf } from '../test/sandbox/harness.js';

/**
 * Sandbox benchmarks:
 * - cold start: session created → first bash result in the log (instant scripted model), through
 *   a real Paddock process and the SDK, p50 / p99;
 * - bash round trip: `true` in a warm sandbox, executor call to result (the sandbox's overhead);
 * - cold start with a repository: the same as the first, the session having a small
 *   `github_repository` resource served by a local smart-HTTP git server (clone included);
 * - cold start of an environment with packages (pip six, npm is-number, from the real
 *   registries): the first session, which installs them, against later ones that mount the cache.
 */

const COLD = 30;
const COLD_REPO = 10;
const WARM = 300;
/** Environments whose first session installs their packages, and later sessions on one of them. */
const INSTALLS = 3;
const CACHED = 10;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] * 10) / 10;
}

async function coldStarts(repo?: { runs: number }): Promise<number[]> {
  const model = await startScriptedModel();
  const git = repo ? await startGitServer(['ghp_bench']) : undefined;
  git?.createRepo('acme', 'widgets', { main: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`src/file${i}.txt`, `line ${i}\n`.repeat(100)])) });
  const p = await startPaddock({
    env: { ANTHROPIC_BASE_URL: model.url, ...(git ? { PADDOCK_GITHUB_URL: git.url, PADDOCK_OUTBOUND_ALLOW_HOSTS: '127.0.0.1' } : {}) },
  });
  try {
    const env = await p.client.beta.environments.create({ name: `bench-${Date.now()}` });
    const agent = await p.client.beta.agents.create({ name: 'bench', model: 'claude-sonnet-4-6', tools: [{ type: 'agent_toolset_20260401' }] } as any);
    const resources = git ? [{ type: 'github_repository', url: `${git.url}/acme/widgets`, authorization_token: 'ghp_bench' }] : undefined;
    const out: number[] = [];
    for (let i = 0; i < (repo?.runs ?? COLD); i++) {
      const command = git ? 'cat /workspace/widgets/src/file0.txt | wc -l' : 'echo hi';
      model.enqueue({ content: [{ type: 'tool_use', name: 'bash', input: { command } }] }, { content: [{ type: 'text', text: 'ok' }] });
      out.push(await coldStart(p, agent.id, env.id, { resources, expect: git ? '100' : undefined }));
    }
    return out;
  } finally {
    await p.stop();
    await model.close();
    await git?.close();
  }
}

/**
 * Session created → first bash result, the stream attached first (it does not replay). Any
 * `session.error` (a repository not cloned, packages not installed) or failed call spoils the run.
 */
async function coldStart(p: PaddockProcess, agentId: string, envId: string, opts: { resources?: unknown[]; expect?: string } = {}): Promise<number> {
  const t0 = performance.now();
  const s = await p.client.beta.sessions.create({ agent: agentId, environment_id: envId, resources: opts.resources } as any);
  const stream = await p.client.beta.sessions.events.stream(s.id);
  await p.client.beta.sessions.events.send(s.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'go' }] }] });
  for await (const e of stream as AsyncIterable<any>) {
    if (e.type === 'session.error') throw new Error(`session error: ${e.error.message}`);
    if (e.type === 'agent.tool_result') {
      if (e.is_error) throw new Error(`the bash call failed: ${JSON.stringify(e.content).slice(0, 400)}`);
      if (opts.expect !== undefined && e.content?.[0]?.text !== opts.expect) throw new Error(`unexpected output: ${JSON.stringify(e.content).slice(0, 400)}`);
      break;
    }
  }
  const ms = performance.now() - t0;
  await p.client.beta.sessions.delete(s.id).catch(() => {});
  return ms;
}

async function packageColdStarts(): Promise<{ install: number[]; cached: number[] }> {
  const model = await startScriptedModel();
  const p = await startPaddock({ env: { ANTHROPIC_BASE_URL: model.url } });
  const use = `python3 -c 'import six' && node -e 'require("is-number")'`;
  const script = () => model.enqueue({ content: [{ type: 'tool_use', name: 'bash', input: { command: use } }] }, { content: [{ type: 'text', text: 'ok' }] });
  try {
    const agent = await p.client.beta.agents.create({ name: 'bench-pkgs', model: 'claude-sonnet-4-6', tools: [{ type: 'agent_toolset_20260401' }] } as any);
    // Hosts named exactly as well: where registries answer at non-global addresses (a mirror, a proxy), only that reaches them.
    const networking = { type: 'limited', allowed_hosts: PACKAGE_MANAGER_HOSTS.filter((h) => !h.startsWith('*')), allow_package_managers: true };
    const envs: string[] = [];
    for (let i = 0; i < INSTALLS; i++) {
      const env = await p.client.beta.environments.create({
        name: `bench-pkgs-${Date.now()}-${i}`,
        config: { type: 'cloud', networking, packages: { pip: ['six==1.16.0'], npm: ['is-number@7.0.0'] } },
      } as any);
      envs.push(env.id);
    }
    const install: number[] = [];
    for (const env of envs) {
      script();
      install.push(await coldStart(p, agent.id, env));
    }
    const cached: number[] = [];
    for (let i = 0; i < CACHED; i++) {
      script();
      cached.push(await coldStart(p, agent.id, envs[0]));
    }
    return { install, cached };
  } finally {
    await p.stop();
    await model.close();
  }
}

export default {
  name: 'sandbox',
  async run() {
    const h = harness();
    const warm: number[] = [];
    try {
      await h.run('sesn_bench', 'bash', { command: 'true' });
      for (let i = 0; i < WARM; i++) {
        const t0 = performance.now();
        const r = await h.run('sesn_bench', 'bash', { command: 'true' });
        warm.push(performance.now() - t0);
        if (r.is_error) throw new Error(textOf(r));
      }
      const direct: number[] = [];
      for (let i = 0; i < 20; i++) {
        const t0 = performance.now();
        await h.run(`sesn_cold_${i}`, 'bash', { command: 'echo hi' });
        direct.push(performance.now() - t0);
      }
      const cold = await coldStarts();
      const coldRepo = await coldStarts({ runs: COLD_REPO });
      const pkgs = await packageColdStarts();
      return [
        { metric: 'cold start: session create → first bash result (SDK, instant model) p50', value: pct(cold, 50), unit: 'ms' },
        { metric: 'cold start: session create → first bash result (SDK, instant model) p99', value: pct(cold, 99), unit: 'ms' },
        { metric: 'cold start with a repository (50-file clone from a local git server) p50', value: pct(coldRepo, 50), unit: 'ms' },
        { metric: 'cold start with a repository (50-file clone from a local git server) p99', value: pct(coldRepo, 99), unit: 'ms' },
        { metric: 'sandbox start + first bash (executor only) p50', value: pct(direct, 50), unit: 'ms' },
        { metric: 'bash round trip (`true`, warm sandbox) p50', value: pct(warm, 50), unit: 'ms' },
        { metric: 'bash round trip (`true`, warm sandbox) p99', value: pct(warm, 99), unit: 'ms' },
        { metric: `cold start with packages, first session (installs pip + npm) p50 of ${INSTALLS}`, value: pct(pkgs.install, 50), unit: 'ms' },
        { metric: `cold start with cached packages p50 of ${CACHED}`, value: pct(pkgs.cached, 50), unit: 'ms' },
        { metric: 'cold start with packages: first install ÷ cached (p50s)', value: pct(pkgs.install, 50) / pct(pkgs.cached, 50), unit: '×' },
      ];
    } finally {
      await h.close();
    }
  },
};
