import Anthropic from '@anthropic-ai/sdk';
import { expect, it } from 'vitest';
import { usePaddock } from '../support/use-paddock.js';

/**
 * The resource flows of the seed document (the Go SDK usage guide, ../shared/seed), step by step
 * with the TypeScript SDK: environment, agent, update → new version, versions, session pinned to
 * a version, send + stream + list events, archive, delete.
 */

const p = usePaddock();

it('runs the seed flows end to end', async () => {
  // Create an Environment
  const environment = await p.client.beta.environments.create({
    name: 'my-dev-env',
    config: { type: 'cloud', networking: { type: 'unrestricted' } },
  });
  expect(environment.id).toMatch(/^env_/);

  // Create an Agent (the Go SDK sends the model object with type: "model_config")
  const agent = await p.client.beta.agents.create({
    name: 'Coding Assistant',
    model: { id: 'claude-opus-4-7', type: 'model_config' } as any,
    system: 'You are a helpful coding assistant.',
    tools: [{ type: 'agent_toolset_20260401' }],
  });
  expect(agent.version).toBe(1);

  // Start a session pinned to the agent's version
  const session = await p.client.beta.sessions.create({
    agent: { type: 'agent', id: agent.id, version: agent.version },
    environment_id: environment.id,
    title: 'Quickstart session',
  });
  expect(session.status).toBe('idle');

  // Updating an Agent: a new version; list all versions
  const updated = await p.client.beta.agents.update(agent.id, { version: agent.version, system: 'You are a helpful coding agent. Always write tests.' });
  expect(updated.version).toBe(2);
  const versions = [];
  for await (const v of p.client.beta.agents.versions.list(agent.id)) versions.push(v);
  expect(versions.map((v) => v.version)).toEqual([2, 1]);
  for (const v of versions) expect(Date.parse(v.updated_at)).not.toBeNaN();
  // The session stays on the version it was pinned to.
  expect((await p.client.beta.sessions.retrieve(session.id)).agent.version).toBe(1);

  // Stream Events: open the stream first, then send the user message
  const stream = await p.client.beta.sessions.events.stream(session.id);
  const sent = await p.client.beta.sessions.events.send(session.id, {
    events: [{ type: 'user.message', content: [{ type: 'text', text: 'Summarize the repo README' }] }],
  });
  const sentId = sent.data![0].id;
  for await (const event of stream) {
    if (event.type === 'user.message' && (event as { id?: string }).id === sentId) break;
  }

  // Reconnecting and tailing: list history (auto-paginated) and find the sent event in it
  const seen = new Set<string>();
  for await (const e of p.client.beta.sessions.events.list(session.id)) seen.add(e.id);
  expect(seen.has(sentId)).toBe(true);

  // Session management: list and retrieve environments
  const envs = await p.client.beta.environments.list();
  expect(envs.data.map((e) => e.id)).toContain(environment.id);
  expect((await p.client.beta.environments.retrieve(environment.id)).name).toBe('my-dev-env');

  // Archive the agent; it stays readable
  const archived = await p.client.beta.agents.archive(agent.id);
  expect(archived.archived_at).not.toBeNull();
  expect((await p.client.beta.agents.retrieve(agent.id)).archived_at).toBe(archived.archived_at);

  // Archive the environment: existing sessions continue
  await p.client.beta.environments.archive(environment.id);
  expect((await p.client.beta.sessions.retrieve(session.id)).environment_id).toBe(environment.id);

  // Delete the session, then the environment no session uses any more
  expect(await p.client.beta.sessions.delete(session.id)).toEqual({ id: session.id, type: 'session_deleted' });
  await expect(p.client.beta.sessions.retrieve(session.id)).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  expect(await p.client.beta.environments.delete(environment.id)).toEqual({ id: environment.id, type: 'environment_deleted' });
  await expect(p.client.beta.environments.retrieve(environment.id)).rejects.toBeInstanceOf(Anthropic.NotFoundError);
});
