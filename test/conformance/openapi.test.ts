import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { toFile } from '@anthropic-ai/sdk';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { routeAccess } from '../../src/http/auth.js';
import { buildPaddock, type PaddockGraph } from '../../src/server.js';
import { raw } from '../support/paddock.js';
import { usePaddock } from '../support/use-paddock.js';

/**
 * The OpenAPI document Paddock serves at /v1/openapi.json: public, a valid OpenAPI 3.1 document,
 * naming every route the server has, and truthful: the objects a real Paddock sends back are the
 * shapes it documents, errors included (a fuzzer checks responses against it).
 */

const p = usePaddock();
type Doc = { openapi: string; paths: Record<string, Record<string, any>> };

async function fetchDoc(): Promise<Doc> {
  const r = await raw(p, 'GET', '/v1/openapi.json', { auth: false });
  expect(r.status).toBe(200);
  return r.json;
}

describe('the OpenAPI document', () => {
  it('is served without an API key, and a validator accepts it as OpenAPI 3.1', async () => {
    const doc = await fetchDoc();
    expect(doc.openapi).toBe('3.1.0');
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeTruthy();
    // What it says of authentication is what the server does.
    expect((doc as any).security).toEqual([{ ApiKey: [] }, { Bearer: [] }]);
    expect(doc.paths['/v1/openapi.json'].get.security).toEqual([]);
    expect(doc.paths['/v1/agents'].post.security).toBeUndefined();
    expect((await raw(p, 'GET', '/v1/agents', { auth: false })).status).toBe(401);
  });

  describe('names every route the server has', () => {
    let paddock: PaddockGraph;
    let app: FastifyInstance;
    beforeAll(async () => {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'paddock-openapi-'));
      const config = await loadConfig({ PADDOCK_DATA_DIR: dataDir, PADDOCK_API_KEYS: 'k', PADDOCK_SANDBOX: 'none' });
      paddock = await buildPaddock(config, pino({ level: 'silent' }));
      app = paddock.app;
      await app.ready();
    });
    afterAll(async () => {
      await paddock?.close();
    });

    it('each method and path, with its path parameters, and the same document as the process serves', async () => {
      const doc = app.swagger() as unknown as Doc;
      const routes = routeAccess(app).filter((r) => r.method !== 'HEAD');
      expect(routes.length).toBeGreaterThan(40);
      for (const r of routes) {
        const template = r.url.replace(/:(\w+)/g, '{$1}');
        const op = doc.paths[template]?.[r.method.toLowerCase()];
        expect(op, `${r.method} ${r.url}`).toBeDefined();
        const params = [...r.url.matchAll(/:(\w+)/g)].map((m) => m[1]);
        const documented = (op.parameters ?? []).filter((x: { in: string }) => x.in === 'path').map((x: { name: string }) => x.name);
        expect(documented.sort(), `${r.method} ${r.url}`).toEqual(params.sort());
      }
      const documented = Object.entries(doc.paths).flatMap(([url, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${url}`));
      expect(documented.length).toBe(routes.length);
      expect(await fetchDoc()).toEqual(JSON.parse(JSON.stringify(doc)));
    });
  });

  describe('is what the server sends', () => {
    let doc: Doc;
    const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });

    /** Fetches `method target` over HTTP and checks the JSON against the documented response for its status. */
    async function documented(method: string, template: string, target: string, body?: unknown): Promise<any> {
      const r = await raw(p, method, target, { body });
      const responses = doc.paths[template]?.[method.toLowerCase()]?.responses;
      expect(responses, `${method} ${template}`).toBeDefined();
      const entry = responses[String(r.status)] ?? responses[`${String(r.status)[0]}XX`];
      expect(entry, `${method} ${target} → ${r.status} is not documented`).toBeDefined();
      const schema = entry.content['application/json'].schema;
      const valid = ajv.validate(schema, r.json);
      expect(valid, `${method} ${target} → ${r.status}: ${ajv.errorsText(ajv.errors)}\n${r.text.slice(0, 500)}`).toBe(true);
      return r.json;
    }

    beforeAll(async () => {
      doc = await fetchDoc();
    });

    it('agents, environments, sessions, events, resources, files, vaults and credentials, and errors', async () => {
      const agent = await documented('POST', '/v1/agents', '/v1/agents', {
        name: 'documented',
        model: { id: 'claude-opus-4-7', speed: 'fast' },
        system: 'be brief',
        tools: [
          { type: 'agent_toolset_20260401', configs: [{ name: 'web_fetch', allowed_domains: ['example.com'] }] },
          { type: 'custom', name: 'lookup', description: 'd', input_schema: { type: 'object', properties: { q: { type: 'string' } } } },
          { type: 'mcp_toolset', mcp_server_name: 'docs' },
        ],
        mcp_servers: [{ type: 'url', name: 'docs', url: 'https://mcp.example/sse' }],
        skills: [{ type: 'anthropic', skill_id: 'pdf' }],
        metadata: { team: 'a' },
      });
      await documented('POST', '/v1/agents/{agent_id}', `/v1/agents/${agent.id}`, { version: 1, description: 'v2' });
      await documented('GET', '/v1/agents/{agent_id}', `/v1/agents/${agent.id}?version=1`);
      await documented('GET', '/v1/agents', '/v1/agents?limit=1');
      await documented('GET', '/v1/agents/{agent_id}/versions', `/v1/agents/${agent.id}/versions`);

      const env = await documented('POST', '/v1/environments', '/v1/environments', {
        name: `documented-${Date.now()}`,
        config: { type: 'cloud', networking: { type: 'limited', allowed_hosts: ['pypi.org'], allow_package_managers: true }, packages: { pip: ['numpy'] } },
      });
      await documented('GET', '/v1/environments', '/v1/environments');
      const selfHosted = await documented('POST', '/v1/environments', '/v1/environments', { name: `sh-${Date.now()}`, config: { type: 'self_hosted' } });
      await documented('DELETE', '/v1/environments/{environment_id}', `/v1/environments/${selfHosted.id}`);

      const file = (await p.client.beta.files.upload({ file: await toFile(Buffer.from('a,b\n'), 'data.csv', { type: 'text/csv' }) })) as { id: string };
      await documented('GET', '/v1/files/{file_id}', `/v1/files/${file.id}`);
      await documented('GET', '/v1/files', '/v1/files?limit=2');

      const session = await documented('POST', '/v1/sessions', '/v1/sessions', {
        agent: { type: 'agent_with_overrides', id: agent.id, system: 'overridden' },
        environment_id: env.id,
        title: 't',
        resources: [
          { type: 'file', file_id: file.id },
          { type: 'github_repository', url: 'https://github.com/example/repo', authorization_token: 'ghp_secret', checkout: { type: 'branch', name: 'main' } },
          { type: 'memory_store', memory_store_id: 'memstore_01x' },
        ],
      });
      await documented('POST', '/v1/sessions/{session_id}', `/v1/sessions/${session.id}`, { title: 'renamed', metadata: { k: 'v' } });
      await documented('GET', '/v1/sessions', '/v1/sessions?statuses[]=idle&limit=1');
      await documented('POST', '/v1/sessions/{session_id}/events', `/v1/sessions/${session.id}/events`, {
        events: [{ type: 'user.interrupt' }],
      });
      await documented('GET', '/v1/sessions/{session_id}/events', `/v1/sessions/${session.id}/events`);
      const resources = await documented('GET', '/v1/sessions/{session_id}/resources', `/v1/sessions/${session.id}/resources`);
      const repo = resources.data.find((r: { type: string }) => r.type === 'github_repository');
      await documented('POST', '/v1/sessions/{session_id}/resources/{resource_id}', `/v1/sessions/${session.id}/resources/${repo.id}`, {
        authorization_token: 'ghp_rotated',
      });
      await documented('DELETE', '/v1/sessions/{session_id}/resources/{resource_id}', `/v1/sessions/${session.id}/resources/${repo.id}`);
      await documented('POST', '/v1/sessions/{session_id}/archive', `/v1/sessions/${session.id}/archive`);

      const vault = await documented('POST', '/v1/vaults', '/v1/vaults', { display_name: 'documented' });
      const base = `/v1/vaults/${vault.id}/credentials`;
      const future = new Date(Date.now() + 3_600_000).toISOString();
      for (const auth of [
        { type: 'static_bearer', token: 'tok', mcp_server_url: 'https://a.example/mcp' },
        {
          type: 'mcp_oauth',
          access_token: 'at',
          mcp_server_url: 'https://b.example/mcp',
          expires_at: future,
          refresh: {
            client_id: 'c',
            refresh_token: 'rt',
            token_endpoint: 'https://b.example/token',
            token_endpoint_auth: { type: 'client_secret_post', client_secret: 's' },
          },
        },
        { type: 'environment_variable', secret_name: 'API_TOKEN', secret_value: 'v', networking: { type: 'limited', allowed_hosts: ['api.example.com'] } },
      ]) {
        const c = await documented('POST', '/v1/vaults/{vault_id}/credentials', base, { display_name: auth.type, auth });
        await documented('GET', '/v1/vaults/{vault_id}/credentials/{credential_id}', `${base}/${c.id}`);
      }
      const listed = await documented('GET', '/v1/vaults/{vault_id}/credentials', base);
      await documented('POST', '/v1/vaults/{vault_id}/credentials/{credential_id}/archive', `${base}/${listed.data[0].id}/archive`);
      await documented('POST', '/v1/vaults/{vault_id}/archive', `/v1/vaults/${vault.id}/archive`);
      await documented('GET', '/v1/vaults', '/v1/vaults?include_archived=true');

      // The error envelope, for a missing object, a bad body and a bad query.
      await documented('GET', '/v1/agents/{agent_id}', '/v1/agents/agent_01missing');
      await documented('POST', '/v1/agents', '/v1/agents', { name: 5 });
      await documented('GET', '/v1/sessions', '/v1/sessions?limit=0');
      await documented('DELETE', '/v1/files/{file_id}', `/v1/files/${file.id}`);
    });
  });
});
