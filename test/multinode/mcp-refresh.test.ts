import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { events, type Ev } from '../runtime/harness.js';
import { startCluster, type PaddockCluster } from '../support/cluster.js';
import { startTestMcpServer, type TestMcpServer } from '../support/mcp-server.js';
import { startScriptedModel, type RecordedRequest, type ScriptedModel } from '../support/scripted-model.js';

/**
 * Three nodes on one Postgres, three sessions driven on different nodes, one mcp_oauth
 * credential whose token is due for a refresh: the token endpoint gets one request, and every
 * session's MCP call goes through with the token it issued.
 */
let c: PaddockCluster;
let model: ScriptedModel;
let mcp: TestMcpServer;

beforeAll(async () => {
  [model, mcp] = await Promise.all([startScriptedModel(), startTestMcpServer()]);
  model.setFallback((req: RecordedRequest) => {
    const userSpoke = req.body.messages.at(-1).content.some((b: { type: string }) => b.type === 'text');
    return userSpoke ? { content: [{ type: 'tool_use', name: 'mcp__docs__echo', input: { text: 'cluster' } }] } : { content: [{ type: 'text', text: 'done' }] };
  });
  c = await startCluster({
    nodes: 3,
    env: { ANTHROPIC_BASE_URL: model.url, PADDOCK_OUTBOUND_ALLOW_HOSTS: '127.0.0.1', PADDOCK_SANDBOX: 'none', PADDOCK_BUS_POLL_MS: '500' },
  });
});
afterAll(async () => {
  await c?.stop();
  await Promise.all([model?.close(), mcp?.close()]);
});

async function leaseHolders(sessionIds: string[]): Promise<string[]> {
  const db = new pg.Client(c.databaseUrl);
  await db.connect();
  try {
    const { rows } = await db.query<{ node_id: string }>('select node_id from session_leases where session_id = any($1)', [sessionIds]);
    return rows.map((r) => r.node_id);
  } finally {
    await db.end();
  }
}

it('concurrent refreshes of one credential on several nodes make one token-endpoint request', async () => {
  const refresh = 'cluster-refresh-1';
  mcp.refreshTokens.set(refresh, 'cluster-client');
  // Long enough that every session is waiting on the refresh at once.
  mcp.tokenDelayMs = 2000;
  const agent = await c.client.beta.agents.create({
    name: 'cluster-mcp',
    model: 'claude-sonnet-4-6',
    mcp_servers: [{ type: 'url', name: 'docs', url: mcp.url }],
    tools: [{ type: 'mcp_toolset', mcp_server_name: 'docs', default_config: { permission_policy: { type: 'always_allow' } } }],
  } as any);
  const env = await c.client.beta.environments.create({ name: 'cluster-mcp' });
  const vault = await c.client.beta.vaults.create({ display_name: 'cluster' });
  await c.client.beta.vaults.credentials.create(vault.id, {
    auth: {
      type: 'mcp_oauth',
      mcp_server_url: mcp.url,
      access_token: 'cluster-access-old',
      expires_at: new Date(Date.now() + 30_000).toISOString(),
      refresh: { client_id: 'cluster-client', refresh_token: refresh, token_endpoint: mcp.tokenUrl, token_endpoint_auth: { type: 'none' } },
    },
  } as any);
  const sids: string[] = [];
  for (let i = 0; i < 3; i++) sids.push((await c.client.beta.sessions.create({ agent: agent.id, environment_id: env.id, vault_ids: [vault.id] })).id);
  // Each node is sent one session's message, and wakes it at once.
  await Promise.all(
    sids.map((sid, i) => c.clientFor(i).beta.sessions.events.send(sid, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'go' }] }] })),
  );
  const deadline = Date.now() + 20_000;
  while (mcp.tokenRequests.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const holders = await leaseHolders(sids);
  expect(new Set(holders).size, `sessions driven by ${holders.join(', ')}`).toBeGreaterThan(1);

  const logs: Ev[][] = [];
  for (const sid of sids) {
    for (;;) {
      const log = await events(c.client, sid);
      if (log.at(-1)?.type === 'session.status_idle') {
        logs.push(log);
        break;
      }
      if (Date.now() > deadline) throw new Error(`session ${sid} did not finish: ${log.map((e) => e.type).join(' ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  expect(mcp.tokenRequests).toHaveLength(1);
  for (const log of logs)
    expect(log.find((e) => e.type === 'agent.mcp_tool_result')).toMatchObject({ is_error: false, content: [{ type: 'text', text: 'echo: cluster' }] });
  expect(new Set(mcp.calls.map((x) => x.token)).size).toBe(1);
  expect(mcp.calls[0].token).toMatch(/^mcp-access-/);
});
