import type Anthropic from '@anthropic-ai/sdk';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, FAST_RUNTIME, idles, say, waitFor, waitForIdle, type Ev } from '../runtime/harness.js';
import { startTestMcpServer, type TestMcpServer } from '../support/mcp-server.js';
import { raw, startPaddock, type PaddockProcess } from '../support/paddock.js';
import { startScriptedModel, type RecordedRequest, type ScriptedModel, type ScriptedResponse } from '../support/scripted-model.js';

/**
 * MCP toolsets end to end, through the official SDK against a real Paddock: real MCP servers
 * (built with @modelcontextprotocol/sdk, requiring a bearer token) on 127.0.0.1, which the
 * operator allow-list lets the outbound port reach; only the model is scripted.
 */

let p: PaddockProcess;
let model: ScriptedModel;
let mcp: TestMcpServer;
let client: Anthropic;
let envId: string;

const TOKEN = 'static-token-5f3a9c1e7b';
const NODES = Number(process.env.PADDOCK_TEST_NODES ?? 0);
/** Every secret any test here hands Paddock or a server issues: none may come back out. */
const secrets = new Set<string>([TOKEN]);

beforeAll(async () => {
  [model, mcp] = await Promise.all([startScriptedModel(), startTestMcpServer({ tokens: [TOKEN] })]);
  p = await startPaddock({ env: { ANTHROPIC_BASE_URL: model.url, ...FAST_RUNTIME, PADDOCK_OUTBOUND_ALLOW_HOSTS: '127.0.0.1' } });
  client = p.client;
  envId = (await client.beta.environments.create({ name: 'mcp-env' })).id;
});
afterAll(async () => {
  await p?.stop();
  await Promise.all([model?.close(), mcp?.close()]);
});

const ALLOW = { permission_policy: { type: 'always_allow' as const } };
const text = (t: string) => ({ type: 'text' as const, text: t });
const lastMessage = (req: RecordedRequest) => req.body.messages.at(-1);
const toolResultOf = (req: RecordedRequest) => lastMessage(req).content.find((b: any) => b.type === 'tool_result');

/** A model that calls `name` with `input` once per turn (when the user just spoke), then answers with the text of the result. */
function callsOnce(name: string, input: Record<string, unknown>) {
  return (req: RecordedRequest): ScriptedResponse => {
    const userSpoke = lastMessage(req).content.some((b: any) => b.type === 'text');
    if (userSpoke) return { content: [{ type: 'tool_use', name, input }] };
    return { content: [text(`got: ${JSON.stringify(toolResultOf(req)?.content)}`)] };
  };
}

let n = 0;
interface Setup {
  url?: string;
  server?: string;
  toolset?: Record<string, unknown>;
  tools?: unknown[];
  auth?: Record<string, unknown> | null;
}

/** An agent with one MCP server, a vault holding a credential for it, and a session of both. */
async function mcpSession(s: Setup = {}): Promise<{ sid: string; vaultId: string; credId?: string }> {
  const server = s.server ?? 'docs';
  const url = s.url ?? mcp.url;
  const agent = await client.beta.agents.create({
    name: `mcp-agent-${++n}`,
    model: 'claude-sonnet-4-6',
    mcp_servers: [{ type: 'url', name: server, url }],
    tools: [{ type: 'mcp_toolset', mcp_server_name: server, default_config: ALLOW, ...s.toolset }, ...((s.tools as []) ?? [])],
  } as any);
  const vault = await client.beta.vaults.create({ display_name: `mcp-vault-${n}` });
  let credId: string | undefined;
  if (s.auth !== null) {
    const auth = s.auth ?? { type: 'static_bearer', token: TOKEN, mcp_server_url: url };
    credId = (await client.beta.vaults.credentials.create(vault.id, { auth } as any)).id;
  }
  const sid = (await client.beta.sessions.create({ agent: agent.id, environment_id: envId, vault_ids: [vault.id] })).id;
  return { sid, vaultId: vault.id, credId };
}

const ofType = (log: Ev[], type: string) => log.filter((e) => e.type === type);

/** Polls until `pred` holds (bounded). */
async function until(pred: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
const lastIdle = (log: Ev[]) => idles(log).at(-1)!;

describe('MCP tool calls', () => {
  it('offers the enabled tools of the server under mcp__<server>__<tool>, calls one with the bearer token, and logs agent.mcp_tool_use / agent.mcp_tool_result', async () => {
    const { sid } = await mcpSession({
      toolset: {
        configs: [
          { name: 'big', enabled: false },
          { name: 'slow', enabled: false },
        ],
      },
    });
    model.setFallback(callsOnce('mcp__docs__echo', { text: 'hello' }));
    const before = model.requests.length;
    const calls = mcp.calls.length;
    await say(client, sid, 'echo hello');
    const log = await waitForIdle(client, sid);

    const offered = model.requests[before].body.tools as Array<{ name: string; description?: string; input_schema: unknown }>;
    expect(offered.map((t) => t.name).sort()).toEqual(['mcp__docs__add', 'mcp__docs__echo', 'mcp__docs__fail', 'mcp__docs__leak']);
    expect(offered.find((t) => t.name === 'mcp__docs__echo')).toEqual({
      name: 'mcp__docs__echo',
      description: 'Echoes text back',
      input_schema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
    });

    const [use] = ofType(log, 'agent.mcp_tool_use');
    expect(use).toMatchObject({
      mcp_server_name: 'docs',
      name: 'echo',
      input: { text: 'hello' },
      evaluated_permission: 'allow',
      evaluation: { type: 'always_allow' },
    });
    const [result] = ofType(log, 'agent.mcp_tool_result');
    expect(result).toMatchObject({ mcp_tool_use_id: use.id, is_error: false, content: [text('echo: hello')] });
    expect(mcp.calls.slice(calls)).toEqual([{ tool: 'echo', args: { text: 'hello' }, token: TOKEN }]);
    // The model got the result under the tool_use id it was told, and the turn ended normally.
    expect(toolResultOf(model.requests.at(-1)!)).toMatchObject({ tool_use_id: use.id, content: [text('echo: hello')] });
    expect(lastIdle(log).stop_reason).toEqual({ type: 'end_turn' });
  });

  // A connection belongs to the node driving the session; round-robin nodes each make their own.
  it.skipIf(NODES > 1)('keeps one connection across turns: the second turn lists nothing again and reuses the MCP session', async () => {
    const { sid } = await mcpSession();
    model.setFallback(callsOnce('mcp__docs__add', { a: 2, b: 3 }));
    await say(client, sid, 'add');
    await waitForIdle(client, sid);
    const authorizations = mcp.authorizations.length;
    await say(client, sid, 'add again');
    const log = await waitForIdle(client, sid, 2);
    expect(ofType(log, 'agent.mcp_tool_result').map((e) => e.content)).toEqual([[text('5')], [text('5')]]);
    // One HTTP request for the second call (tools/call): no new initialize, no new listing.
    expect(mcp.authorizations.length - authorizations).toBe(1);
  });

  it('names that would collide get a hashed suffix, and a call by that name reaches the MCP tool', async () => {
    const custom = {
      type: 'custom',
      name: 'mcp__docs__echo',
      description: 'A custom tool that happens to look like an MCP one',
      input_schema: { type: 'object', properties: {} },
    };
    const { sid } = await mcpSession({ tools: [custom], toolset: { configs: [{ name: 'add', enabled: false }] } });
    let offeredName = '';
    model.setFallback((req) => {
      const names: string[] = req.body.tools.map((t: { name: string }) => t.name);
      offeredName = names.find((x) => x.startsWith('mcp__docs__echo_')) ?? 'missing';
      return callsOnce(offeredName, { text: 'which one' })(req);
    });
    await say(client, sid, 'go');
    const log = await waitForIdle(client, sid);
    const names = (model.requests.at(-1)!.body.tools as Array<{ name: string }>).map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    expect(offeredName).toMatch(/^mcp__docs__echo_[0-9a-f]{8}$/);
    expect(ofType(log, 'agent.custom_tool_use')).toEqual([]);
    expect(ofType(log, 'agent.mcp_tool_result')[0]).toMatchObject({ content: [text('echo: which one')] });
  });

  it('falls back to the HTTP+SSE transport for a server that predates Streamable HTTP', async () => {
    const legacy = await startTestMcpServer({ transport: 'sse', tokens: [TOKEN] });
    try {
      const { sid } = await mcpSession({ url: legacy.url, server: 'old' });
      model.setFallback(callsOnce('mcp__old__echo', { text: 'via sse' }));
      await say(client, sid, 'go');
      const log = await waitForIdle(client, sid);
      expect(ofType(log, 'agent.mcp_tool_result')[0]).toMatchObject({ is_error: false, content: [text('echo: via sse')] });
      expect(legacy.calls).toEqual([{ tool: 'echo', args: { text: 'via sse' }, token: TOKEN }]);
    } finally {
      await legacy.close();
    }
  });

  it('an always_ask tool waits for user.tool_confirmation: allow runs it, deny gives the model an error with the message', async () => {
    // No default_config: MCP toolsets ask by default.
    const { sid } = await mcpSession({ toolset: { default_config: undefined } });
    model.setFallback(callsOnce('mcp__docs__echo', { text: 'ask first' }));
    const calls = mcp.calls.length;
    await say(client, sid, 'go');
    let log = await waitForIdle(client, sid);
    const [use] = ofType(log, 'agent.mcp_tool_use');
    expect(use).toMatchObject({ name: 'echo', evaluated_permission: 'ask', evaluation: { type: 'always_ask' } });
    expect(lastIdle(log).stop_reason).toEqual({ type: 'requires_action', event_ids: [use.id] });
    expect(mcp.calls.length).toBe(calls);

    await client.beta.sessions.events.send(sid, { events: [{ type: 'user.tool_confirmation', tool_use_id: use.id, result: 'allow' }] });
    log = await waitForIdle(client, sid, 2);
    expect(ofType(log, 'agent.mcp_tool_result')[0]).toMatchObject({ mcp_tool_use_id: use.id, is_error: false, content: [text('echo: ask first')] });
    expect(mcp.calls.length).toBe(calls + 1);

    await say(client, sid, 'again');
    log = await waitForIdle(client, sid, 3);
    const second = ofType(log, 'agent.mcp_tool_use')[1];
    await client.beta.sessions.events.send(sid, {
      events: [{ type: 'user.tool_confirmation', tool_use_id: second.id, result: 'deny', deny_message: 'not that server' }],
    });
    log = await waitForIdle(client, sid, 4);
    expect(ofType(log, 'agent.mcp_tool_result')[1]).toMatchObject({ mcp_tool_use_id: second.id, is_error: true, content: [text('not that server')] });
    expect(mcp.calls.length).toBe(calls + 1);
  });

  it('a wrong token gives mcp_authentication_failed_error and ends the turn; after the credential is fixed the next turn works', async () => {
    const wrong = 'wrong-token-8d2e61f0';
    secrets.add(wrong);
    const { sid, vaultId, credId } = await mcpSession({ auth: { type: 'static_bearer', token: wrong, mcp_server_url: mcp.url } });
    model.setFallback(callsOnce('mcp__docs__echo', { text: 'after fix' }));
    const before = model.requests.length;
    await say(client, sid, 'go');
    let log = await waitForIdle(client, sid);
    const [err] = ofType(log, 'session.error');
    expect(err.error).toMatchObject({ type: 'mcp_authentication_failed_error', mcp_server_name: 'docs', retry_status: { type: 'exhausted' } });
    expect(err.error.message).toContain(credId!);
    expect(lastIdle(log).stop_reason).toEqual({ type: 'end_turn' });
    // The model was not asked anything: the tools it was configured with could not be listed.
    expect(model.requests.length).toBe(before);

    await client.beta.vaults.credentials.update(credId!, { vault_id: vaultId, auth: { type: 'static_bearer', token: TOKEN } } as any);
    await say(client, sid, 'try again');
    log = await waitForIdle(client, sid, 2);
    expect(ofType(log, 'agent.mcp_tool_result')[0]).toMatchObject({ is_error: false, content: [text('echo: after fix')] });
    expect(lastIdle(log).stop_reason).toEqual({ type: 'end_turn' });
  });

  it("a server without a credential in the session's vaults: mcp_authentication_failed_error naming the server", async () => {
    const { sid } = await mcpSession({ auth: { type: 'static_bearer', token: TOKEN, mcp_server_url: `${mcp.base}/other-mcp` } });
    await say(client, sid, 'go');
    const log = await waitForIdle(client, sid);
    expect(ofType(log, 'session.error')[0].error).toMatchObject({ type: 'mcp_authentication_failed_error', mcp_server_name: 'docs' });
    expect(ofType(log, 'session.error')[0].error.message).toMatch(/no vault of the session holds a credential/);
  });

  it('a killed server gives the call an error result and mcp_connection_failed_error; once it is back, the next turn reconnects', async () => {
    const own = await startTestMcpServer({ tokens: [TOKEN] });
    try {
      const { sid } = await mcpSession({ url: own.url });
      model.setFallback(callsOnce('mcp__docs__echo', { text: 'one' }));
      await say(client, sid, 'first');
      await waitForIdle(client, sid);
      await own.kill();
      await say(client, sid, 'second');
      let log = await waitForIdle(client, sid, 2);
      const results = ofType(log, 'agent.mcp_tool_result');
      // The node that listed the tools calls and fails; another node (PADDOCK_TEST_NODES) fails listing them.
      const failedCall = results[1];
      if (NODES <= 1) expect(failedCall).toBeDefined();
      if (failedCall) {
        expect(failedCall).toMatchObject({ is_error: true });
        expect(failedCall.content[0].text).toMatch(/could not be called.*connection refused/);
      }
      const [err] = ofType(log, 'session.error');
      expect(err.error).toMatchObject({ type: 'mcp_connection_failed_error', mcp_server_name: 'docs', retry_status: { type: 'exhausted' } });
      expect(lastIdle(log).stop_reason).toEqual({ type: 'end_turn' });

      await own.restart();
      await say(client, sid, 'third');
      log = await waitForIdle(client, sid, 3);
      expect(ofType(log, 'agent.mcp_tool_result').at(-1)).toMatchObject({ is_error: false, content: [text('echo: one')] });
      if (failedCall) {
        // The failed call is in what the model was told.
        const sent = model.requests.at(-2)!.body.messages.flatMap((m: any) => (Array.isArray(m.content) ? m.content : []));
        expect(sent.find((b: any) => b.type === 'tool_result' && b.tool_use_id === failedCall.mcp_tool_use_id)).toMatchObject({ is_error: true });
      }
    } finally {
      await own.close();
    }
  });

  it('a server that restarted between turns (its MCP sessions gone) is reconnected to without an error', async () => {
    const own = await startTestMcpServer({ tokens: [TOKEN] });
    try {
      const { sid } = await mcpSession({ url: own.url });
      model.setFallback(callsOnce('mcp__docs__echo', { text: 'again' }));
      await say(client, sid, 'first');
      await waitForIdle(client, sid);
      await own.kill();
      await own.restart();
      await say(client, sid, 'second');
      const log = await waitForIdle(client, sid, 2);
      expect(ofType(log, 'session.error')).toEqual([]);
      expect(ofType(log, 'agent.mcp_tool_result').map((e) => e.is_error)).toEqual([false, false]);
    } finally {
      await own.close();
    }
  });

  it('an interrupt while a server is slow to connect ends the turn at once, without an MCP error', async () => {
    let arrived = 0;
    const hanging = createServer(() => void arrived++);
    await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/mcp`;
    try {
      const { sid } = await mcpSession({ url });
      const before = model.requests.length;
      await say(client, sid, 'go');
      await until(() => arrived > 0);
      await client.beta.sessions.events.send(sid, { events: [{ type: 'user.interrupt' }] });
      // Well before the 30 s connect deadline.
      const log = await waitForIdle(client, sid, 1, 15_000);
      expect(lastIdle(log).stop_reason).toEqual({ type: 'end_turn' });
      expect(ofType(log, 'span.model_request_end')).toMatchObject([{ is_error: true }]);
      expect(ofType(log, 'session.error')).toEqual([]);
      expect(model.requests.length).toBe(before);
    } finally {
      hanging.closeAllConnections();
      hanging.close();
    }
  });

  it('deleting the session ends its MCP session at the server', async () => {
    const own = await startTestMcpServer({ tokens: [TOKEN] });
    try {
      const { sid } = await mcpSession({ url: own.url });
      model.setFallback(callsOnce('mcp__docs__echo', { text: 'bye' }));
      await say(client, sid, 'go');
      await waitForIdle(client, sid);
      expect(own.openSessions()).toBe(1);
      await client.beta.sessions.delete(sid);
      await until(() => own.openSessions() === 0);
    } finally {
      await own.close();
    }
  });

  it('what a server echoes of the token it was sent is redacted from the result', async () => {
    const { sid } = await mcpSession();
    model.setFallback(callsOnce('mcp__docs__leak', {}));
    await say(client, sid, 'go');
    const log = await waitForIdle(client, sid);
    expect(ofType(log, 'agent.mcp_tool_result')[0]).toMatchObject({ is_error: false, content: [text('I was sent [REDACTED]')] });
  });

  it('a result over the limit is kept in a file in the sandbox; the model gets a preview and the path', async () => {
    const { sid } = await mcpSession({ tools: [{ type: 'agent_toolset_20260401', default_config: ALLOW }] });
    const chars = 450_000;
    let path = '';
    model.setFallback((req) => {
      const result = toolResultOf(req);
      if (!result) return { content: [{ type: 'tool_use', name: 'mcp__docs__big', input: { chars } }] };
      const note = result.content?.[0]?.text as string | undefined;
      if (note?.includes('.mcp_results')) {
        path = /in (\/workspace\/\.mcp_results\/\S+\.txt)/.exec(note)![1];
        return { content: [{ type: 'tool_use', name: 'bash', input: { command: `wc -c < ${path}` } }] };
      }
      return { content: [text('measured')] };
    });
    await say(client, sid, 'go');
    const log = await waitForIdle(client, sid, 1, 60_000);
    const [result] = ofType(log, 'agent.mcp_tool_result');
    const shown = result.content[0].text as string;
    expect(shown.length).toBeLessThan(20_000);
    expect(shown.startsWith('B'.repeat(10_000))).toBe(true);
    expect(shown).toContain(`The result is ${chars} characters long`);
    expect(path).toBe(`/workspace/.mcp_results/${result.mcp_tool_use_id}.txt`);
    const bash = ofType(log, 'agent.tool_result')[0];
    expect(bash.content[0].text.trim()).toBe(String(chars));
  });
});

describe('a crash during an MCP call', () => {
  it('is not re-run after the restart: the call gets an is_error result saying it was interrupted', async () => {
    // Short leases: under PADDOCK_TEST_NODES the restarted nodes wait for the killed ones' leases to run out.
    const env = {
      ANTHROPIC_BASE_URL: model.url,
      ...FAST_RUNTIME,
      PADDOCK_OUTBOUND_ALLOW_HOSTS: '127.0.0.1',
      PADDOCK_SANDBOX: 'none',
      PADDOCK_LEASE_TTL_MS: '2000',
      PADDOCK_LEASE_RENEW_MS: '500',
      PADDOCK_LEASE_SCAN_MS: '500',
    };
    const first = await startPaddock({ env });
    let second: PaddockProcess | undefined;
    try {
      const c = first.client;
      const environment = await c.beta.environments.create({ name: 'mcp-crash' });
      const agent = await c.beta.agents.create({
        name: 'mcp-crash',
        model: 'claude-sonnet-4-6',
        mcp_servers: [{ type: 'url', name: 'docs', url: mcp.url }],
        tools: [{ type: 'mcp_toolset', mcp_server_name: 'docs', default_config: ALLOW }],
      } as any);
      const vault = await c.beta.vaults.create({ display_name: 'crash' });
      await c.beta.vaults.credentials.create(vault.id, { auth: { type: 'static_bearer', token: TOKEN, mcp_server_url: mcp.url } } as any);
      const sid = (await c.beta.sessions.create({ agent: agent.id, environment_id: environment.id, vault_ids: [vault.id] })).id;
      model.setFallback(callsOnce('mcp__docs__slow', { ms: 4000 }));
      const calls = () => mcp.calls.filter((x) => x.tool === 'slow' && x.args.ms === 4000).length;
      await say(c, sid, 'go');
      await waitFor(c, sid, () => calls() === 1);
      await first.kill();
      second = await startPaddock({ dataDir: first.dataDir, env });
      const log = await waitForIdle(second.client, sid);
      const [result] = ofType(log, 'agent.mcp_tool_result');
      expect(result).toMatchObject({ is_error: true });
      expect(result.content[0].text).toMatch(/interrupted by a restart of the Paddock server/);
      expect(calls()).toBe(1);
    } finally {
      await first.stop();
      await second?.stop();
    }
  });
});

describe('mcp_oauth', () => {
  it('an expiring token is refreshed once while two sessions race for it, and both calls succeed with the new token', async () => {
    const old = 'oauth-access-old-93b1d7';
    const refresh = 'oauth-refresh-1-c44e02';
    secrets.add(old).add(refresh);
    mcp.refreshTokens.set(refresh, 'paddock-client');
    mcp.tokenDelayMs = 300;
    const auth = {
      type: 'mcp_oauth',
      mcp_server_url: mcp.url,
      access_token: old,
      // Inside the refresh margin: the token is due for a refresh before it is used.
      expires_at: new Date(Date.now() + 30_000).toISOString(),
      refresh: { client_id: 'paddock-client', refresh_token: refresh, token_endpoint: mcp.tokenUrl, token_endpoint_auth: { type: 'none' } },
    };
    const agent = await client.beta.agents.create({
      name: `oauth-agent-${++n}`,
      model: 'claude-sonnet-4-6',
      mcp_servers: [{ type: 'url', name: 'docs', url: mcp.url }],
      tools: [{ type: 'mcp_toolset', mcp_server_name: 'docs', default_config: ALLOW }],
    } as any);
    const vault = await client.beta.vaults.create({ display_name: 'oauth vault' });
    const cred = await client.beta.vaults.credentials.create(vault.id, { auth } as any);
    const sids = await Promise.all(
      [0, 1].map(async () => (await client.beta.sessions.create({ agent: agent.id, environment_id: envId, vault_ids: [vault.id] })).id),
    );
    model.setFallback(callsOnce('mcp__docs__echo', { text: 'fresh' }));
    const requests = mcp.tokenRequests.length;
    const calls = mcp.calls.length;
    await Promise.all(sids.map((sid) => say(client, sid, 'go')));
    const logs = await Promise.all(sids.map((sid) => waitForIdle(client, sid)));
    mcp.tokenDelayMs = 0;

    expect(mcp.tokenRequests.length - requests).toBe(1);
    for (const log of logs) expect(ofType(log, 'agent.mcp_tool_result')[0]).toMatchObject({ is_error: false, content: [text('echo: fresh')] });
    const used = mcp.calls.slice(calls).map((c) => c.token);
    expect(used).toHaveLength(2);
    expect(used[0]).toMatch(/^mcp-access-/);
    expect(used[1]).toBe(used[0]);
    for (const t of mcp.tokens) secrets.add(t);
    for (const r of mcp.refreshTokens.keys()) secrets.add(r);
    const stored = await client.beta.vaults.credentials.retrieve(cred.id, { vault_id: vault.id });
    expect(Date.parse((stored.auth as any).expires_at)).toBeGreaterThan(Date.now() + 30 * 60_000);
  });

  it('a refresh the token endpoint refuses gives mcp_authentication_failed_error', async () => {
    const stale = 'oauth-access-refused-71aa';
    secrets.add(stale).add('oauth-refresh-unknown-3f');
    const { sid } = await mcpSession({
      auth: {
        type: 'mcp_oauth',
        mcp_server_url: mcp.url,
        access_token: stale,
        refresh: {
          client_id: 'paddock-client',
          refresh_token: 'oauth-refresh-unknown-3f',
          token_endpoint: mcp.tokenUrl,
          token_endpoint_auth: { type: 'none' },
        },
      },
    });
    const requests = mcp.tokenRequests.length;
    await say(client, sid, 'go');
    const log = await waitForIdle(client, sid);
    const [err] = ofType(log, 'session.error');
    expect(err.error).toMatchObject({ type: 'mcp_authentication_failed_error', mcp_server_name: 'docs' });
    expect(err.error.message).toMatch(/refreshing the access token .* failed: the token endpoint answered HTTP 400/);
    // The server refused the token (401), so one refresh was tried, and only one.
    expect(mcp.tokenRequests.length - requests).toBe(1);
  });
});

describe('secrets', () => {
  it('no token appears in any event, API response about the credentials, or log line', async () => {
    expect(secrets.size).toBeGreaterThan(5);
    const seen: string[] = [p.output()];
    for await (const s of client.beta.sessions.list({ limit: 100 })) {
      seen.push(JSON.stringify(s));
      seen.push(JSON.stringify(await events(client, s.id)));
    }
    for await (const v of client.beta.vaults.list()) {
      seen.push((await raw(p, 'GET', `/v1/vaults/${v.id}/credentials`)).text);
    }
    const all = seen.join('\n');
    expect(all.length).toBeGreaterThan(10_000);
    for (const s of secrets) expect(all.includes(s), `a secret (${s.slice(0, 6)}…) leaked`).toBe(false);
  });
});
