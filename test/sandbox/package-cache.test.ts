import { existsSync, mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, expect, it } from 'vitest';
import type { Environment } from '../../src/domain/environments.js';
import { emptyPackages } from '../../src/domain/packages.js';
import { BubblewrapProvider } from '../../src/sandbox/bubblewrap/provider.js';
import { PACKAGE_MANAGER_HOSTS } from '../../src/sandbox/egress/policy.js';
import { SandboxPackageBuilder } from '../../src/sandbox/packages/builder.js';
import { PackageCache } from '../../src/sandbox/packages/cache.js';
import { sandboxSettings } from '../../src/sandbox/settings.js';

// Two nodes sharing one data dir (two caches, each with its own real bubblewrap builder) start
// the same environment's first sessions at once: the lock file makes one build, the other node
// waits for it and mounts the same result.
const dataDir = mkdtempSync(path.join(tmpdir(), 'paddock-pkgcache-'));
afterAll(async () => {
  await fs.rm(dataDir, { recursive: true, force: true });
});

function node(lines: string[]): PackageCache {
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const log = pino({ level: 'info' }, sink);
  const root = process.getuid?.() === 0;
  const runAs = root ? { uid: 65534, gid: 65534 } : undefined;
  const settings = sandboxSettings({ limits: { diskMib: 512, processes: 256 } });
  const provider = new BubblewrapProvider({ log, runAs });
  const builder = new SandboxPackageBuilder({ provider, limits: settings.limits, timeoutMs: 300_000, owner: runAs, serverPort: () => 1, log });
  return new PackageCache({ root: path.join(dataDir, 'packages'), builder, log, rootOwned: root, waitMs: 300_000 });
}

it("two nodes on one data dir build an environment's packages once", async () => {
  const env = {
    id: 'env_sharedcache01',
    config: {
      type: 'cloud',
      // Named exactly: on this machine the registries answer at reserved addresses.
      networking: {
        type: 'limited',
        allowed_hosts: PACKAGE_MANAGER_HOSTS.filter((h) => !h.startsWith('*')),
        allow_package_managers: true,
        allow_mcp_servers: false,
      },
      packages: { ...emptyPackages(), pip: ['idna==3.7'] },
    },
  } as unknown as Environment;
  const linesA: string[] = [];
  const linesB: string[] = [];
  const [a, b] = await Promise.all([node(linesA).prepare(env), node(linesB).prepare(env)]);
  expect(a?.hostPath).toBeDefined();
  expect(b?.hostPath).toBe(a?.hostPath);
  const installs = [...linesA, ...linesB].filter((l) => l.includes('"installing environment packages"'));
  expect(installs).toHaveLength(1);
  // The finished build is there, with its output, and (as root) owned by root: no sandbox user can change it.
  expect(await fs.readFile(path.join(path.dirname(a!.hostPath), 'install.log'), 'utf8')).toMatch(/Successfully installed idna-3\.7/);
  if (process.getuid?.() === 0) {
    const entries = [a!.hostPath, ...(await fs.readdir(a!.hostPath, { recursive: true })).map((r) => path.join(a!.hostPath, r))]; // idna has no links
    const owners = new Set(await Promise.all(entries.map(async (e) => (await fs.lstat(e)).uid)));
    expect([...owners]).toEqual([0]);
  }
  // A third node finds the build and installs nothing.
  const linesC: string[] = [];
  expect((await node(linesC).prepare(env))?.hostPath).toBe(a?.hostPath);
  expect(linesC.filter((l) => l.includes('"installing environment packages"'))).toHaveLength(0);
}, 300_000);

it('a session that stops waiting (interrupted) does not stop the build others wait for', async () => {
  const env = {
    id: 'env_interrupted01',
    config: {
      type: 'cloud',
      networking: {
        type: 'limited',
        allowed_hosts: PACKAGE_MANAGER_HOSTS.filter((h) => !h.startsWith('*')),
        allow_package_managers: true,
        allow_mcp_servers: false,
      },
      packages: { ...emptyPackages(), pip: ['six==1.16.0'] },
    },
  } as unknown as Environment;
  const lines: string[] = [];
  const cache = node(lines);
  const interrupt = new AbortController();
  const waiting = cache.prepare(env, interrupt.signal);
  const other = cache.prepare(env);
  interrupt.abort();
  await expect(waiting).rejects.toThrow('interrupted');
  const prefix = await other;
  expect(await fs.readFile(path.join(path.dirname(prefix!.hostPath), 'install.log'), 'utf8')).toMatch(/Successfully installed six-1\.16\.0/);
  expect(lines.filter((l) => l.includes('"installing environment packages"'))).toHaveLength(1);
}, 300_000);

it('what the build leaves behind is not trusted: symlinks it plants to host files are neither read nor written through', async () => {
  // The build's user may write its home and the prefix while it runs (any package's install
  // script can): here a stand-in does what such a script could, replacing the install log and
  // planting the names Paddock writes with links to a host file.
  const secret = path.join(dataDir, 'host-secret');
  await fs.writeFile(secret, 'host secret\n', { mode: 0o600 });
  // A host directory whose files belong to someone else: a linked directory must not be walked into.
  const victim = path.join(dataDir, 'victim');
  await fs.mkdir(victim);
  await fs.writeFile(path.join(victim, 'file'), 'x');
  await fs.chown(path.join(victim, 'file'), 4321, 4321).catch(() => undefined);
  const victimOwner = (await fs.stat(path.join(victim, 'file'))).uid;
  const env = {
    id: 'env_hostile01',
    config: {
      type: 'cloud',
      networking: {
        type: 'limited',
        allowed_hosts: PACKAGE_MANAGER_HOSTS.filter((h) => !h.startsWith('*')),
        allow_package_managers: true,
        allow_mcp_servers: false,
      },
      packages: { ...emptyPackages(), pip: ['six==1.16.0', 'idna==3.7'] },
    },
  } as unknown as Environment;
  const builds = path.join(dataDir, 'packages', '.build');
  let planted = false;
  const plant = (async () => {
    for (let i = 0; i < 2000 && !planted; i++) {
      const roots = await fs.readdir(builds).catch(() => [] as string[]);
      for (const r of roots) {
        const home = path.join(builds, r, 'home');
        const log = path.join(home, 'install.log');
        // Once the install is under way (its shell holds the log open and goes on writing to it).
        if (!((await fs.stat(log).catch(() => undefined))?.size ?? 0)) continue;
        await fs.rm(log);
        await fs.symlink(secret, log);
        for (const name of ['install.log', 'packages.json']) await fs.symlink(secret, path.join(builds, r, 'prefix', name));
        await fs.symlink(victim, path.join(builds, r, 'prefix', 'linked-dir'));
        planted = true;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const prefix = await node([]).prepare(env);
  await plant;
  expect(planted).toBe(true);
  expect(await fs.readFile(secret, 'utf8')).toBe('host secret\n');
  expect((await fs.stat(path.join(victim, 'file'))).uid).toBe(victimOwner);
  const log = await fs.readFile(path.join(path.dirname(prefix!.hostPath), 'install.log'), 'utf8');
  expect(log).not.toContain('host secret');
  expect(log).toMatch(/the install's output could not be read \(ELOOP\)/);
}, 300_000);

const GO = ['/usr/local/go/bin/go', '/usr/bin/go'].some((p) => existsSync(p));
it.skipIf(!GO)(
  "go packages are built with the host's Go and installed as binaries on the PATH",
  async () => {
    const env = {
      id: 'env_gopackages01',
      config: {
        type: 'cloud',
        networking: {
          type: 'limited',
          allowed_hosts: PACKAGE_MANAGER_HOSTS.filter((h) => !h.startsWith('*')),
          allow_package_managers: true,
          allow_mcp_servers: false,
        },
        // Unversioned: the script asks for @latest.
        packages: { ...emptyPackages(), go: ['golang.org/x/example/hello'] },
      },
    } as unknown as Environment;
    const prefix = await node([]).prepare(env);
    expect(await fs.readFile(path.join(path.dirname(prefix!.hostPath), 'install.log'), 'utf8')).toMatch(/go: installing golang\.org\/x\/example\/hello\n/);
    expect((await fs.stat(path.join(prefix!.hostPath, 'go/bin/hello'))).mode & 0o111).toBeTruthy();
    expect(prefix!.env.PATH.split(':')).toContain('/opt/paddock/env/go/bin');
  },
  300_000,
);
