import type Anthropic from '@anthropic-ai/sdk';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_RUNTIME, idles, say, waitForIdle, type Ev } from '../runtime/harness.js';
import { startTestMcpServer, type TestMcpServer } from '../support/mcp-server.js';
import { startPaddock, type PaddockProcess } from '../support/paddock.js';
import { startScriptedModel, type RecordedRequest, type ScriptedModel, type ScriptedResponse } from '../support/scripted-model.js';

/**
 * MCP servers and credentials that are wrong in every way a user or a server can get them wrong:
 * each gives a clear event (or a 4xx at the API), the turn ends, and the session is idle and
 * usable. Short deadlines, and no sandbox (so a large result is cut, not kept in a file).
 */

let p: PaddockProcess;
let model: ScriptedModel;
let mcp: TestMcpServer;
let client: Anthropic;
let envId: string;
const servers: Server[] = [];
const TOKEN = 'bad-input-token-0c9d';

/** An HTTP server on 127.0.0.1 that answers every request with `handler`. */
async function rawServer(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const s = createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}/mcp`;
}

beforeAll(async () => {
  [model, mcp] = await Promise.all([startScriptedModel(), startTestMcpServer({ tokens: [TOKEN] })]);
  p = await startPaddock({
    env: {
      ANTHROPIC_BASE_URL: model.url,
      ...FAST_RUNTIME,
      PADDOCK_OUTBOUND_ALLOW_HOSTS: '127.0.0.1',
      PADDOCK_SANDBOX: 'none',
      PADDOCK_MCP_CONNECT_TIMEOUT_MS: '1500',
      PADDOCK_MCP_CALL_TIMEOUT_MS: '1000',
      PADDOCK_MCP_IDLE_SECONDS: '1',
    },
  });
  client = p.client;
  envId = (await client.beta.environments.create({ name: 'mcp-bad-env' })).id;
});
afterAll(async () => {
  await p?.stop();
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  await Promise.all([model?.close(), mcp?.close()]);
});

const text = (t: string) => ({ type: 'text' as const, text: t });
const ofType = (log: Ev[], type: string) => log.filter((e) => e.type === type);

let n = 0;
async function session(url: string, auth: Record<string, unknown> = { type: 'static_bearer', token: TOKEN, mcp_server_url: url }): Promise<string> {
  const agent = await client.beta.agents.create({
    name: `bad-mcp-${++n}`,
    model: 'claude-sonnet-4-6',
    mcp_servers: [{ type: 'url', name: 'srv', url }],
    tools: [{ type: 'mcp_toolset', mcp_server_name: 'srv', default_config: { permission_policy: { type: 'always_allow' } } }],
  } as any);
  const vault = await client.beta.vaults.create({ display_name: `bad-${n}` });
  await client.beta.vaults.credentials.create(vault.id, { auth } as any);
  return (await client.beta.sessions.create({ agent: agent.id, environment_id: envId, vault_ids: [vault.id] })).id;
}

function callsOnce(name: string, input: Record<string, unknown>) {
  return (req: RecordedRequest): ScriptedResponse => {
    const userSpoke = req.body.messages.at(-1).content.some((b: any) => b.type === 'text');
    return userSpoke ? { content: [{ type: 'tool_use', name, input }] } : { content: [text('done')] };
  };
}

/** Sends a message and expects the turn to end on a session.error of `type` whose message matches, without asking the model. */
async function expectServerError(sid: string, type: string, message: RegExp): Promise<Ev[]> {
  const before = model.requests.length;
  await say(client, sid, 'go');
  const log = await waitForIdle(client, sid, 1, 15_000);
  const errors = ofType(log, 'session.error');
  expect(errors).toHaveLength(1);
  expect(errors[0].error).toMatchObject({ type, mcp_server_name: 'srv', retry_status: { type: 'exhausted' } });
  expect(errors[0].error.message).toMatch(message);
  expect(idles(log).at(-1)!.stop_reason).toEqual({ type: 'end_turn' });
  expect(model.requests.length).toBe(before);
  return log;
}

describe('bad MCP servers', () => {
  it('a server that never answers: mcp_connection_failed_error after the connect deadline', async () => {
    const url = await rawServer(() => {});
    await expectServerError(await session(url), 'mcp_connection_failed_error', /did not connect and list its tools within 1.5 s/);
  });

  it('a server that answers with something other than JSON-RPC: mcp_connection_failed_error', async () => {
    const url = await rawServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"jsonrpc": "2.0", "result": ');
    });
    await expectServerError(await session(url), 'mcp_connection_failed_error', /not well-formed JSON-RPC|not an MCP message/);
  });

  it('a server with an enormous tool list: mcp_connection_failed_error saying so', async () => {
    const many = await startTestMcpServer({ tokens: [TOKEN], extraTools: 600 });
    try {
      await expectServerError(await session(many.url), 'mcp_connection_failed_error', /lists more than 512 tools/);
    } finally {
      await many.close();
    }
  });

  it('a server at an address the outbound port refuses: mcp_connection_failed_error naming the reason, nothing sent', async () => {
    await expectServerError(await session('http://169.254.169.254/mcp'), 'mcp_connection_failed_error', /refused: .*link-local/);
  });

  it('a token the server refuses, with no refresh configured: mcp_authentication_failed_error', async () => {
    const sid = await session(mcp.url, { type: 'mcp_oauth', access_token: 'expired-at-the-server-77', mcp_server_url: mcp.url });
    await expectServerError(
      sid,
      'mcp_authentication_failed_error',
      /refused the access token of credential vcrd_\w+ \(vault vlt_\w+\), which has no refresh configured/,
    );
  });

  it('a refresh whose token endpoint cannot be reached: mcp_authentication_failed_error', async () => {
    const sid = await session(mcp.url, {
      type: 'mcp_oauth',
      access_token: 'expired-at-the-server-78',
      mcp_server_url: mcp.url,
      refresh: { client_id: 'c', refresh_token: 'r-unreachable', token_endpoint: 'http://169.254.169.254/token', token_endpoint_auth: { type: 'none' } },
    });
    await expectServerError(sid, 'mcp_authentication_failed_error', /the token endpoint could not be reached/);
  });
});

describe('idle connections', () => {
  it('a connection unused for PADDOCK_MCP_IDLE_SECONDS is closed, ending its MCP session at the server; the next turn reconnects', async () => {
    const own = await startTestMcpServer({ tokens: [TOKEN] });
    try {
      const sid = await session(own.url);
      model.setFallback(callsOnce('mcp__srv__echo', { text: 'idle' }));
      await say(client, sid, 'go');
      await waitForIdle(client, sid);
      const deadline = Date.now() + 10_000;
      while (own.openSessions() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(own.openSessions()).toBe(0);
      await say(client, sid, 'again');
      const log = await waitForIdle(client, sid, 2);
      expect(ofType(log, 'agent.mcp_tool_result').map((e) => e.content)).toEqual([[text('echo: idle')], [text('echo: idle')]]);
    } finally {
      await own.close();
    }
  });
});

describe('bad tool calls', () => {
  it('a call that outlives its deadline is an error result; the model carries on, and no session error is raised', async () => {
    const sid = await session(mcp.url);
    model.setFallback(callsOnce('mcp__srv__slow', { ms: 5000 }));
    await say(client, sid, 'go');
    const log = await waitForIdle(client, sid, 1, 15_000);
    expect(ofType(log, 'agent.mcp_tool_result')[0]).toMatchObject({
      is_error: true,
      content: [text('MCP server srv (' + new URL(mcp.url).host + ') did not answer the call within 1 s.')],
    });
    expect(ofType(log, 'session.error')).toEqual([]);
    expect(ofType(log, 'agent.message').at(-1)!.content).toEqual([text('done')]);
  });

  it('a JSON-RPC error from the tool is an error result with its message', async () => {
    const sid = await session(mcp.url);
    model.setFallback(callsOnce('mcp__srv__fail', {}));
    await say(client, sid, 'go');
    const log = await waitForIdle(client, sid);
    const [result] = ofType(log, 'agent.mcp_tool_result');
    expect(result.is_error).toBe(true);
    expect(result.content[0].text).toMatch(/answered: MCP error -32603: the fail tool always fails/);
    expect(ofType(log, 'session.error')).toEqual([]);
  });

  it('without a sandbox, a result over the limit is cut to a preview with a note saying so', async () => {
    const sid = await session(mcp.url);
    model.setFallback(callsOnce('mcp__srv__big', { chars: 400_001 }));
    await say(client, sid, 'go');
    const log = await waitForIdle(client, sid);
    const shown = ofType(log, 'agent.mcp_tool_result')[0].content[0].text as string;
    expect(shown).toBe(
      `${'B'.repeat(10_000)}\n\n[The result is 400001 characters long; above are its first 10000. The rest was dropped: no sandbox was available to keep it in a file.]`,
    );
  });

  it('a result at the limit is passed whole', async () => {
    const sid = await session(mcp.url);
    model.setFallback(callsOnce('mcp__srv__big', { chars: 400_000 }));
    await say(client, sid, 'go');
    const log = await waitForIdle(client, sid);
    expect((ofType(log, 'agent.mcp_tool_result')[0].content[0].text as string).length).toBe(400_000);
  });
});
