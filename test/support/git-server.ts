import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * A smart-HTTP git server on 127.0.0.1, as GitHub serves repositories: `git http-backend` (the
 * CGI that ships with git) behind a small node server that requires a token, as basic auth
 * (`x-access-token:<token>`, GitHub's form) or a bearer. Repositories live at `/<owner>/<repo>`
 * (with or without `.git`); pushes are accepted.
 */
export interface GitServer {
  /** `http(s)://127.0.0.1:<port>`: what PADDOCK_GITHUB_URL points at. */
  url: string;
  port: number;
  /** The tokens accepted now (replace to rotate). */
  tokens: Set<string>;
  /** Every request: method, path, and the token it carried (undefined: none or a wrong one). */
  requests: Array<{ method: string; path: string; token: string | undefined; authorization: string | undefined }>;
  /** Creates `owner/name` with one commit per branch (files given per branch); returns its bare path. */
  createRepo(owner: string, name: string, branches: Record<string, Record<string, string>>): string;
  /** Holds every request (recorded, not answered) until the returned function is called. */
  pause(): () => void;
  /** Runs git against a served repository (bare), e.g. `log`. */
  git(owner: string, name: string, ...args: string[]): string;
  close(): Promise<void>;
}

export const GIT_ENV = {
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  HOME: '/nonexistent',
  LC_ALL: 'C',
  PATH: process.env.PATH ?? '/usr/bin:/bin',
};
const ID = ['-c', 'user.name=Test Server', '-c', 'user.email=server@example.test', '-c', 'init.defaultBranch=main'];

function tokenOf(auth: string | undefined, tokens: Set<string>): string | undefined {
  if (!auth) return undefined;
  const [scheme, value = ''] = auth.split(' ', 2);
  let candidate: string | undefined;
  if (/^basic$/i.test(scheme)) candidate = Buffer.from(value, 'base64').toString('utf8').split(':').slice(1).join(':');
  else if (/^bearer$/i.test(scheme)) candidate = value;
  return candidate !== undefined && tokens.has(candidate) ? candidate : undefined;
}

/** With `tls`, the server speaks HTTPS with that key and certificate (`url` is then https://). */
export async function startGitServer(tokens: string[], opts: { tls?: { key: string; cert: string } } = {}): Promise<GitServer> {
  const root = mkdtempSync(path.join(tmpdir(), 'paddock-git-'));
  const accepted = new Set(tokens);
  const requests: GitServer['requests'] = [];
  let held: Promise<void> = Promise.resolve();
  const handler: http.RequestListener = async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const token = tokenOf(req.headers.authorization, accepted);
    requests.push({ method: req.method ?? '', path: url.pathname + url.search, token, authorization: req.headers.authorization });
    await held;
    if (!token) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="test git"', 'content-type': 'text/plain' }).end('token required\n');
      return;
    }
    const m = /^\/([^/]+)\/([^/]+?)(?:\.git)?(\/.*)$/.exec(url.pathname);
    if (!m) return void res.writeHead(404).end();
    const cgi = spawn('git', ['http-backend'], {
      env: {
        ...GIT_ENV,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: `/${m[1]}/${m[2]}${m[3]}`,
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
        ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] } : {}),
        ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
        REMOTE_USER: 'tester',
        REMOTE_ADDR: '127.0.0.1',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    req.pipe(cgi.stdin);
    cgi.stdin.on('error', () => {});
    let head = Buffer.alloc(0);
    let started = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (started) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n') >= 0 ? head.indexOf('\r\n\r\n') + 4 : head.indexOf('\n\n') >= 0 ? head.indexOf('\n\n') + 2 : -1;
      if (end < 0) return;
      const headers: Record<string, string> = {};
      let status = 200;
      for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/).filter(Boolean)) {
        const i = line.indexOf(':');
        const k = line.slice(0, i).trim().toLowerCase();
        const v = line.slice(i + 1).trim();
        if (k === 'status') status = Number(v.split(' ')[0]);
        else headers[k] = v;
      }
      res.writeHead(status, headers);
      started = true;
      res.write(head.subarray(end));
    });
    cgi.on('close', () => (started ? res.end() : res.writeHead(500).end()));
  };
  const server = opts.tls ? https.createServer(opts.tls, handler) : http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const run = (cwd: string, ...args: string[]) =>
    execFileSync('git', [...ID, ...args], { cwd, env: GIT_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    tokens: accepted,
    requests,
    createRepo(owner, name, branches) {
      const bare = path.join(root, owner, name);
      mkdirSync(bare, { recursive: true });
      run(bare, 'init', '--quiet', '--bare');
      run(bare, 'config', 'http.receivepack', 'true');
      const work = mkdtempSync(path.join(tmpdir(), 'paddock-git-work-'));
      try {
        run(work, 'init', '--quiet');
        for (const [branch, files] of Object.entries(branches)) {
          run(work, 'checkout', '--quiet', '--orphan', branch);
          run(work, 'rm', '-rf', '--quiet', '--ignore-unmatch', '.');
          for (const [file, content] of Object.entries(files)) {
            mkdirSync(path.dirname(path.join(work, file)), { recursive: true });
            writeFileSync(path.join(work, file), content);
          }
          run(work, 'add', '.');
          run(work, 'commit', '--quiet', '-m', `${branch}: first commit`);
          run(work, 'push', '--quiet', bare, `${branch}:${branch}`);
        }
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
      return bare;
    },
    pause() {
      let release!: () => void;
      held = new Promise((r) => (release = r));
      return release;
    },
    git: (owner, name, ...args) => run(path.join(root, owner, name), ...args),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
