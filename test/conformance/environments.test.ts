import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { usePaddock } from '../support/use-paddock.js';

const p = usePaddock();

let n = 0;
const uniqueName = (base: string) => `${base}-${++n}`;

describe('environments', () => {
  it('create answers a cloud environment with resolved defaults', async () => {
    const e = await p.client.beta.environments.create({ name: uniqueName('defaults') });
    expect(e.id).toMatch(/^env_01/);
    expect(e).toMatchObject({
      type: 'environment',
      description: null,
      metadata: {},
      archived_at: null,
      config: { type: 'cloud', networking: { type: 'unrestricted' }, packages: { apt: [], cargo: [], gem: [], go: [], npm: [], pip: [] } },
    });
  });

  it('create keeps limited networking and packages; self_hosted too', async () => {
    const e = await p.client.beta.environments.create({
      name: uniqueName('limited'),
      description: 'locked down',
      metadata: { owner: 'ops' },
      config: {
        type: 'cloud',
        networking: { type: 'limited', allowed_hosts: ['api.example.com', '*.example.org'], allow_package_managers: true },
        packages: { pip: ['requests'] },
      },
    });
    expect(e.config).toMatchObject({
      type: 'cloud',
      networking: { type: 'limited', allowed_hosts: ['api.example.com', '*.example.org'], allow_mcp_servers: false, allow_package_managers: true },
      packages: { pip: ['requests'], npm: [] },
    });
    const sh = await p.client.beta.environments.create({ name: uniqueName('sh'), config: { type: 'self_hosted' } });
    expect(sh.config).toEqual({ type: 'self_hosted' });
  });

  it('packages under limited networking need allow_package_managers', async () => {
    const err = await p.client.beta.environments
      .create({ name: uniqueName('nopm'), config: { type: 'cloud', networking: { type: 'limited', allowed_hosts: [] }, packages: { pip: ['x'] } } })
      .catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
  });

  it("package entries: each manager's name and version syntax is accepted as given", async () => {
    const packages = {
      cargo: ['ripgrep', 'ripgrep@14.1.0', 'cargo-edit@^0.12'],
      gem: ['rake', 'rake:13.2.1'],
      go: ['golang.org/x/tools/cmd/goimports@v0.24.0', 'github.com/user/tool'],
      npm: ['is-number', 'is-number@7.0.0', '@types/node@^20.1.0', 'typescript@latest', 'left-pad@>=1.0.0'],
      pip: ['six', 'six==1.16.0', 'requests[socks,security]>=2.0,<3', 'zope.interface~=6.0', 'Django!=4.0.*'],
    };
    const e = await p.client.beta.environments.create({ name: uniqueName('pkgs'), config: { type: 'cloud', packages } });
    expect(e.config).toMatchObject({ type: 'cloud', packages: { ...packages, apt: [] } });
  });

  it.each([
    ['pip', 'six; touch /tmp/x', 'config.packages.pip.0'],
    ['pip', 'six==1.0 ; python_version<"3"', 'config.packages.pip.0'],
    ['pip', '-r requirements.txt', 'config.packages.pip.0'],
    ['pip', 'git+https://example.com/x.git', 'config.packages.pip.0'],
    ['pip', './local/path', 'config.packages.pip.0'],
    ['npm', '$(id)', 'config.packages.npm.0'],
    ['npm', 'file:../x', 'config.packages.npm.0'],
    ['npm', 'github:user/repo', 'config.packages.npm.0'],
    ['npm', 'x@1.0.0 || 2.0.0', 'config.packages.npm.0'],
    ['npm', '--registry=http://127.0.0.1:9', 'config.packages.npm.0'],
    ['gem', 'rake`id`', 'config.packages.gem.0'],
    ['cargo', 'ripgrep --git https://example.com/x', 'config.packages.cargo.0'],
    ['go', 'example.com/x@v1|id', 'config.packages.go.0'],
    ['go', '../x', 'config.packages.go.0'],
    ['pip', 'six\nrm -rf /', 'config.packages.pip.0'],
  ])('a %s entry %j is a 400 naming %s', async (manager, entry, field) => {
    const err = await p.client.beta.environments
      .create({ name: uniqueName('badpkg'), config: { type: 'cloud', packages: { [manager]: [entry] } } } as any)
      .catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err.error.error.message).toMatch(
      new RegExp(`^${field.replace(/\./g, '\\.')}: must be an? ${manager} package name with an optional version \\(e\\.g\\. `),
    );
    // The value is never quoted back.
    expect(err.error.error.message).not.toContain(entry);
  });

  it('an unknown package manager, and apt (not supported here), are 400s that say so', async () => {
    const unknown = await p.client.beta.environments
      .create({ name: uniqueName('brew'), config: { type: 'cloud', packages: { brew: ['wget'] } } } as any)
      .catch((e) => e);
    expect(unknown).toBeInstanceOf(Anthropic.BadRequestError);
    expect(unknown.error.error.message).toBe('config.packages.brew: unknown package manager; expected one of apt, cargo, gem, go, npm, pip');
    const apt = await p.client.beta.environments.create({ name: uniqueName('apt'), config: { type: 'cloud', packages: { apt: ['jq'] } } }).catch((e) => e);
    expect(apt).toBeInstanceOf(Anthropic.BadRequestError);
    expect(apt.error.error.message).toMatch(/^config\.packages\.apt: apt packages are not supported by this Paddock server/);
    // An empty apt list is what the SDK sends by default: accepted.
    const none = await p.client.beta.environments.create({ name: uniqueName('noapt'), config: { type: 'cloud', packages: { apt: [], pip: ['six'] } } });
    expect(none.config).toMatchObject({ packages: { apt: [], pip: ['six'] } });
  });

  it('a taken name is a ConflictError that is not retried', async () => {
    const name = uniqueName('taken');
    await p.client.beta.environments.create({ name });
    const err = await p.client.beta.environments.create({ name }).catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.ConflictError);
    expect(err.headers.get('x-should-retry')).toBe('false');
  });

  it('retrieve, update (patching metadata, keeping config), and the config type rule', async () => {
    const e = await p.client.beta.environments.create({ name: uniqueName('upd'), metadata: { a: '1', b: '2' } });
    expect(await p.client.beta.environments.retrieve(e.id)).toEqual(e);
    const u = await p.client.beta.environments.update(e.id, { description: 'now described', metadata: { a: null, b: '', c: '3' } as any });
    expect(u.description).toBe('now described');
    expect(u.metadata).toEqual({ c: '3' });
    expect(u.config).toEqual(e.config);
    expect(Date.parse(u.updated_at)).toBeGreaterThanOrEqual(Date.parse(e.updated_at));

    const err = await p.client.beta.environments.update(e.id, { config: { type: 'self_hosted' } }).catch((x) => x);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err.error.error.details?.error_code).toBe('invalid_config_type_change');

    const renamedOnto = await p.client.beta.environments.create({ name: uniqueName('other') });
    const clash = await p.client.beta.environments.update(renamedOnto.id, { name: e.name }).catch((x) => x);
    expect(clash).toBeInstanceOf(Anthropic.ConflictError);
  });

  it('list pages newest first; archive hides unless include_archived; archived refuses updates', async () => {
    const made = [];
    for (let i = 0; i < 3; i++) made.push((await p.client.beta.environments.create({ name: uniqueName('list') })).id);
    const first = await p.client.beta.environments.list({ limit: 2 });
    expect(first.data.map((e) => e.id)).toEqual([made[2], made[1]]);
    expect(first).not.toHaveProperty('prev_page');

    const archived = await p.client.beta.environments.archive(made[1]);
    expect(archived.archived_at).not.toBeNull();
    const visible = [];
    for await (const e of p.client.beta.environments.list({ limit: 2 })) visible.push(e.id);
    expect(visible).toContain(made[0]);
    expect(visible).not.toContain(made[1]);
    const all = [];
    for await (const e of p.client.beta.environments.list({ include_archived: true })) all.push(e.id);
    expect(all).toContain(made[1]);

    const err = await p.client.beta.environments.update(made[1], { description: 'x' }).catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err.error.error.details?.error_code).toBe('environment_archived');
  });

  it('delete answers environment_deleted, then the environment is gone', async () => {
    const e = await p.client.beta.environments.create({ name: uniqueName('del') });
    expect(await p.client.beta.environments.delete(e.id)).toEqual({ id: e.id, type: 'environment_deleted' });
    const err = await p.client.beta.environments.retrieve(e.id).catch((x) => x);
    expect(err).toBeInstanceOf(Anthropic.NotFoundError);
    expect(err.error.error.type).toBe('not_found_error');
    await expect(p.client.beta.environments.delete(e.id)).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  });

  it('delete is refused while any session references the environment, archived ones included', async () => {
    const e = await p.client.beta.environments.create({ name: uniqueName('used') });
    const agent = await p.client.beta.agents.create({ name: 'env-user', model: 'claude-opus-4-7' });
    const s = await p.client.beta.sessions.create({ agent: agent.id, environment_id: e.id });
    await p.client.beta.sessions.archive(s.id);
    const err = await p.client.beta.environments.delete(e.id).catch((x) => x);
    expect(err).toBeInstanceOf(Anthropic.ConflictError);
    expect(err.headers.get('x-should-retry')).toBe('false');
    expect(err.error.error.message).toContain(s.id);
    await p.client.beta.sessions.delete(s.id);
    expect(await p.client.beta.environments.delete(e.id)).toEqual({ id: e.id, type: 'environment_deleted' });
  });
});
