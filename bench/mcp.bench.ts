import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { quantile, userMessage } from './measure.js';
import { startPaddock } from '../test/support/paddock.js';
import { startScriptedModel, type RecordedRequest } from '../test/support/scripted-model.js';
import { startTestMcpServer, type TestMcpServer } from '../test/support/mcp-server.js';

/**
 * MCP tool-call overhead: what Paddock adds around a call to an instant MCP server on 127.0.0.1
 * (the `add` tool of test/support/mcp-server.ts, Streamable HTTP with SSE answers).
 *
 * - direct: the same call made by a plain `@modelcontextprotocol/sdk` client (global fetch, one
 *   kept-alive connection) — the floor: server, transport and loopback;
 * - in Paddock: a real Paddock process whose scripted model calls the tool CALLS times in one
 *   turn; each call is timed from its `agent.mcp_tool_use` being logged to its
 *   `agent.mcp_tool_result` being logged (both `processed_at`): deriving the step, recording
 *   that it started, reading and decrypting the credential, the outbound check and connection,
 *   the call, converting and appending the result;
 * - the difference of the two medians: Paddock's time around a call.
 */

const CALLS = 200;
const TOKEN = 'bench-mcp-token';

async function direct(mcp: TestMcpServer): Promise<number[]> {
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcp.url), { requestInit: { headers: { authorization: `Bearer ${TOKEN}` } } }));
  const samples: number[] = [];
  try {
    for (let i = 0; i < CALLS; i++) {
      const t0 = performance.now();
      await client.callTool({ name: 'add', arguments: { a: i, b: 1 } });
      samples.push(performance.now() - t0);
    }
  } finally {
    await client.close();
  }
  return samples;
}

async function throughPaddock(mcp: TestMcpServer): Promise<{ calls: number[]; first: number }> {
  const model = await startScriptedModel();
  let made = 0;
  model.setFallback((req: RecordedRequest) => {
    const userSpoke = req.body.messages.at(-1).content.some((b: { type: string }) => b.type === 'text');
    if (userSpoke) made = 0;
    if (made++ < CALLS) return { content: [{ type: 'tool_use', name: 'mcp__bench__add', input: { a: made, b: 1 } }] };
    return { content: [{ type: 'text', text: 'done' }] };
  });
  const p = await startPaddock({ env: { ANTHROPIC_BASE_URL: model.url, PADDOCK_OUTBOUND_ALLOW_HOSTS: '127.0.0.1', PADDOCK_SANDBOX: 'none' } });
  try {
    const c = p.client;
    const env = await c.beta.environments.create({ name: 'bench-mcp' });
    const agent = await c.beta.agents.create({
      name: 'bench-mcp',
      model: 'claude-sonnet-4-6',
      mcp_servers: [{ type: 'url', name: 'bench', url: mcp.url }],
      tools: [{ type: 'mcp_toolset', mcp_server_name: 'bench', default_config: { permission_policy: { type: 'always_allow' } } }],
    } as any);
    const vault = await c.beta.vaults.create({ display_name: 'bench' });
    await c.beta.vaults.credentials.create(vault.id, { auth: { type: 'static_bearer', token: TOKEN, mcp_server_url: mcp.url } } as any);
    const sid = (await c.beta.sessions.create({ agent: agent.id, environment_id: env.id, vault_ids: [vault.id] })).id;
    await c.beta.sessions.events.send(sid, userMessage('go'));
    const deadline = Date.now() + 300_000;
    let log: Array<{ type: string; id: string; processed_at: string; mcp_tool_use_id?: string; is_error?: boolean }> = [];
    for (;;) {
      log = [];
      for await (const e of c.beta.sessions.events.list(sid)) log.push(e as any);
      if (log.at(-1)?.type === 'session.status_idle') break;
      if (Date.now() > deadline) throw new Error('the bench session did not finish');
      await new Promise((r) => setTimeout(r, 250));
    }
    const uses = new Map(log.filter((e) => e.type === 'agent.mcp_tool_use').map((e) => [e.id, Date.parse(e.processed_at)]));
    const results = log.filter((e) => e.type === 'agent.mcp_tool_result');
    if (results.length !== CALLS || results.some((r) => r.is_error)) throw new Error(`expected ${CALLS} successful MCP results, got ${results.length}`);
    const spans = results.map((r) => Date.parse(r.processed_at) - uses.get(r.mcp_tool_use_id!)!);
    // The first call also connects (initialize, tools/list happened before the model was asked, so this is the call alone).
    return { calls: spans.slice(1), first: spans[0] };
  } finally {
    await p.stop();
    await model.close();
  }
}

export default {
  name: 'mcp',
  async run(): Promise<Array<{ metric: string; value: number; unit: string }>> {
    const mcp = await startTestMcpServer({ tokens: [TOKEN] });
    try {
      const floor = await direct(mcp);
      const { calls, first } = await throughPaddock(mcp);
      const ms = (v: number) => +v.toFixed(2);
      const d50 = quantile(floor, 0.5);
      const p50 = quantile(calls, 0.5);
      return [
        { metric: `MCP call, plain SDK client, p50 (instant local server, ${CALLS} calls)`, value: ms(d50), unit: 'ms' },
        { metric: 'MCP call in Paddock, mcp_tool_use → mcp_tool_result logged, p50', value: ms(p50), unit: 'ms' },
        { metric: 'MCP call in Paddock, p99', value: ms(quantile(calls, 0.99)), unit: 'ms' },
        { metric: "Paddock's time around an MCP call (p50 in Paddock − p50 plain)", value: ms(p50 - d50), unit: 'ms' },
        { metric: 'first MCP call of a session (connection already made for the tool list)', value: ms(first), unit: 'ms' },
      ];
    } finally {
      await mcp.close();
    }
  },
};
