import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';

/**
 * A throwaway Postgres cluster for one test file: initdb into a temp dir, a server on a free
 * loopback port, gone again at `stop()`. Nothing is installed or left running outside the test.
 */
export interface PostgresServer {
  port: number;
  /** A fresh, empty database; its `postgres://` URL. */
  createDatabase(): Promise<string>;
  /**
   * `pg_ctl restart -m fast`: every connection is dropped (clients get `57P01` or a closed
   * socket), the server stops, and starts again on the same port and data; resolves once it
   * accepts connections again. With `downMs`, it stays down that long in between (`pg_ctl stop`,
   * then `pg_ctl start`), as a restart that takes a while does.
   */
  restart(opts?: { downMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin/postgres'))) : [];
  if (versions.length === 0) throw new Error('Postgres is not installed (apt-get install postgresql)');
  return path.join(root, versions.sort((a, b) => Number(b) - Number(a))[0], 'bin');
}

/** Postgres refuses to run as root; under root (CI) the cluster belongs to the `postgres` user. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitReady(url: string, proc: ChildProcess, output: () => string, opts: { restarted?: boolean } = {}): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!opts.restarted && proc.exitCode !== null) throw new Error(`postgres exited with ${proc.exitCode}:\n${output()}`);
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (err) {
      await client.end().catch(() => {});
      if (Date.now() > deadline) throw new Error(`postgres did not start: ${String(err)}\n${output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

let counter = 0;

export async function startPostgres(): Promise<PostgresServer> {
  const bin = binDir();
  const owner = runAs();
  const dir = mkdtempSync(path.join(tmpdir(), 'paddock-pg-'));
  const dataDir = path.join(dir, 'data');
  if (owner) chownSync(dir, owner.uid, owner.gid);
  execFileSync(path.join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '--encoding=UTF8', '--locale=C.UTF-8'], {
    stdio: 'pipe',
    ...owner,
  });
  const port = await freePort();
  // Durability is not what these tests are about; turning it off keeps a 2-core CI fast.
  const args = [
    '-D',
    dataDir,
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
    '-c',
    'max_connections=200',
  ];
  const proc = spawn(path.join(bin, 'postgres'), args, { stdio: ['ignore', 'pipe', 'pipe'], ...owner });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  // If the test worker goes away without stopping us (a suite that keeps one server for the whole
  // process, a worker killed by the runner), a watchdog stops the server and removes its files.
  // It finds the server by its pid file: after a restart the server is pg_ctl's child, not ours.
  const pidFile = path.join(dataDir, 'postmaster.pid');
  const watchdog = spawn(
    'sh',
    ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill -QUIT $(head -1 '${pidFile}') 2>/dev/null; sleep 2; rm -rf '${dir}'`],
    {
      detached: true,
      stdio: 'ignore',
    },
  );
  watchdog.unref();
  const admin = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await waitReady(admin, proc, () => out);

  // An ICU collation sorts mixed-case text unlike bytes: test databases use one on purpose, so that
  // the store proves it keeps ids in byte order whatever collation the database was created with.
  let locale = "LOCALE_PROVIDER icu ICU_LOCALE 'en-US'";
  return {
    port,
    async createDatabase() {
      const name = `paddock_${process.pid}_${++counter}`;
      const client = new pg.Client({ connectionString: admin });
      await client.connect();
      try {
        try {
          await client.query(`CREATE DATABASE ${name} TEMPLATE template0 ${locale}`);
        } catch {
          locale = '';
          await client.query(`CREATE DATABASE ${name} TEMPLATE template0`);
        }
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async restart({ downMs = 0 } = {}) {
      const pgCtl = (...a: string[]) =>
        execFileSync(path.join(bin, 'pg_ctl'), [...a, '-D', dataDir, '-w', '-l', path.join(dir, 'restarted.log')], { stdio: 'pipe', ...owner });
      if (downMs === 0) pgCtl('restart', '-m', 'fast');
      else {
        pgCtl('stop', '-m', 'fast');
        await new Promise((r) => setTimeout(r, downMs));
        pgCtl('start', '-o', args.slice(2).join(' '));
      }
      await waitReady(admin, proc, () => out, { restarted: true });
    },
    async stop() {
      if (watchdog.exitCode === null) watchdog.kill();
      // Fast shutdown: disconnects clients, no checkpoint wait worth having for a throwaway cluster.
      if (proc.exitCode === null) {
        proc.kill('SIGINT');
        await exited;
      } else if (existsSync(pidFile)) {
        // Restarted: the server running now was started by pg_ctl.
        const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
        process.kill(pid, 'SIGINT');
        while (isAlive(pid)) await new Promise((r) => setTimeout(r, 50));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
