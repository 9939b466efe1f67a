import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Anthropic from '@anthropic-ai/sdk';
import { toFile } from '@anthropic-ai/sdk';
import { startPaddock } from '../support/paddock.js';
import { startScriptedModel } from '../support/scripted-model.js';

/**
 * The schema fuzz: schemathesis (`st`, from the repository's .venv-sdk) against a real Paddock
 * whose model is scripted, failing on any 5xx, any response its OpenAPI document does not describe
 * (status, content type, headers, body, each frame of an event stream), a request served without
 * the API key, and a deleted object still served. Exits with st's status.
 *
 * Run it only as schema-fuzz.test.ts does, inside a network namespace of its own with nothing but
 * loopback: fuzzed agents name MCP servers and credentials name token endpoints, and sessions
 * reach for them; there they reach nothing.
 *
 * Objects to aim at are made first and pinned as path parameters (except on DELETE and archive,
 * which would take them from every later case); without them nearly every case is a 404.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
const ST = path.join(ROOT, '.venv-sdk/bin/st');
/** Per operation and phase; the run's length grows with it. */
const MAX_EXAMPLES = process.env.PADDOCK_FUZZ_MAX_EXAMPLES ?? '25';
/** Fixed, so that CI explores the same cases each run; set another to explore further. */
const SEED = process.env.PADDOCK_FUZZ_SEED ?? '20261202';
const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_headers_conformance',
  'response_schema_conformance',
  'ignored_auth',
  'use_after_free',
  'ensure_resource_availability',
];

async function main(): Promise<number> {
  const model = await startScriptedModel();
  const p = await startPaddock({ env: { ANTHROPIC_BASE_URL: model.url, PADDOCK_MODEL_MAX_RETRIES: '0', PADDOCK_SSE_PING_MS: '500' } });
  try {
    const c = p.client;
    const target = await makeTargets(p.client, 'PADDOCK_FUZZ_');
    // DELETE and archive get objects of their own: aimed at the others they would take them from
    // every later case (the stateful phase finds ids in list responses too).
    const doomed = await makeTargets(p.client, 'PADDOCK_FUZZ_DOOMED_');
    const session = target.PADDOCK_FUZZ_SESSION_ID;
    // A history to replay: each stream case resumes after the session's first event (the pinned
    // `after_id`), so its frames are there to check at once; pings come every half second.
    await c.beta.sessions.events.send(session, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'hello' }] }] });
    const history = await untilIdle(c, session);
    const resumeFrom = { PADDOCK_FUZZ_AFTER_EVENT_ID: history[0].id };
    const before = { sent: history.filter((e) => e.type.startsWith('user.')).length, modelRequests: model.requests.length };
    const args = [
      '--config-file',
      path.join(import.meta.dirname, 'schemathesis.toml'),
      'run',
      `${p.url}/v1/openapi.json`,
      '--header',
      `x-api-key: ${p.apiKey}`,
      '--max-examples',
      MAX_EXAMPLES,
      '--seed',
      SEED,
      '--checks',
      CHECKS.join(','),
      '--no-color',
      // For exploring by hand, e.g. `--include-path-regex /stream$`.
      ...(process.env.PADDOCK_FUZZ_ST_ARGS?.split(' ').filter(Boolean) ?? []),
    ];
    const status = await new Promise<number>((resolve, reject) => {
      // Its own directory: hypothesis keeps a database of examples in the working directory.
      const st = spawn(ST, args, {
        cwd: mkdtempSync(path.join(tmpdir(), 'paddock-fuzz-')),
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...target, ...doomed, ...resumeFrom },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      st.on('error', reject);
      st.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    });
    // A server that died under the fuzz fails the run, whatever st saw last.
    if (p.proc.exitCode !== null) {
      console.error(`paddock exited during the fuzz (${p.proc.exitCode}):\n${p.output().slice(-4000)}`);
      return 1;
    }
    // The pins reached the server: the fuzz sent the pinned session events that started turns, and
    // deleted the doomed session.
    const log = (await c.beta.sessions.events.list(session, { limit: 1000 })).data;
    const sent = log.filter((e) => e.type.startsWith('user.')).length - before.sent;
    const turns = model.requests.length - before.modelRequests;
    const doomedGone = await c.beta.sessions.retrieve(doomed.PADDOCK_FUZZ_DOOMED_SESSION_ID).then(
      () => false,
      () => true,
    );
    console.log(`fuzz: ${sent} events sent to the pinned session, ${turns} model requests, doomed session deleted: ${doomedGone}`);
    if (sent <= 0 || turns <= 0 || !doomedGone) {
      console.error('fuzz: the pinned objects were not all reached; check the parameters in schemathesis.toml');
      return 1;
    }
    return status;
  } finally {
    await p.stop();
    await model.close();
  }
}

/** The session's events once it is idle after a turn (bounded: the scripted model answers at once). */
async function untilIdle(c: Anthropic, sessionId: string): Promise<Array<{ id: string; type: string }>> {
  for (let i = 0; i < 200; i++) {
    const events = (await c.beta.sessions.events.list(sessionId, { limit: 1000 })).data;
    if (events.some((e) => e.type === 'session.status_idle')) return events;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`session ${sessionId} did not go idle`);
}

/** One of each object a path names, as `${prefix}<PARAM>` → id (the names schemathesis.toml reads). */
async function makeTargets(c: Anthropic, prefix: string): Promise<Record<string, string>> {
  const environment = await c.beta.environments.create({ name: `${prefix}env` });
  const agent = await c.beta.agents.create({ name: `${prefix}agent`, model: 'claude-sonnet-4-6' });
  const file = await c.beta.files.upload({ file: await toFile(Buffer.from('fuzz notes\n'), 'notes.txt', { type: 'text/plain' }) });
  // A repository is cloned only before a tool call, which the scripted model never asks for.
  const session = await c.beta.sessions.create({
    agent: agent.id,
    environment_id: environment.id,
    resources: [
      { type: 'github_repository', url: 'https://github.com/acme/widgets', authorization_token: 'ghp_fuzz' },
      { type: 'file', file_id: file.id },
    ],
  });
  const vault = await c.beta.vaults.create({ display_name: `${prefix}vault` });
  const credential = await c.beta.vaults.credentials.create(vault.id, {
    auth: { type: 'static_bearer', token: 'fuzz-token', mcp_server_url: 'https://mcp.example.com/mcp' },
  });
  const ids = {
    ENVIRONMENT_ID: environment.id,
    AGENT_ID: agent.id,
    FILE_ID: file.id,
    SESSION_ID: session.id,
    RESOURCE_ID: (session.resources[0] as { id: string }).id,
    VAULT_ID: vault.id,
    CREDENTIAL_ID: credential.id,
  };
  return Object.fromEntries(Object.entries(ids).map(([k, v]) => [prefix + k, v]));
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
