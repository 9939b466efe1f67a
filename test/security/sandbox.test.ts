import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, textOf, type Harness } from '../sandbox/harness.js';

// Attacks run as tool calls: each must fail, and the session must keep working afterwards.
let h: Harness;
let paddock: http.Server; // stands in for the Paddock server's own port
let outside: http.Server; // a host that is not in allowed_hosts
let paddockPort: number;
let outsidePort: number;
const S = 'sesn_attacker';
const limited = () => ({ type: 'limited' as const, allowed_hosts: ['example.invalid'], allow_mcp_servers: false, allow_package_managers: false });

async function serve(body: string): Promise<[http.Server, number]> {
  const s = http.createServer((_req, res) => res.end(body));
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return [s, (s.address() as AddressInfo).port];
}

beforeAll(async () => {
  process.env.PADDOCK_TEST_SECRET = 'paddock-secret-value';
  process.env.ANTHROPIC_API_KEY = 'sk-ant-secret-value';
  [paddock, paddockPort] = await serve('PADDOCK-API');
  [outside, outsidePort] = await serve('OUTSIDE-HOST');
  h = harness({}, { serverPort: paddockPort });
  await fs.writeFile(path.join(h.dataDir, 'paddock.db'), 'DATABASE-CONTENTS');
  await fs.writeFile(path.join(h.dataDir, 'paddock.log'), 'LOG-CONTENTS');
  await h.run('sesn_victim', 'write', { file_path: 'secret.txt', content: 'VICTIM-DATA' });
});
afterAll(async () => {
  await h.close();
  paddock.close();
  outside.close();
});

async function stillWorks(): Promise<void> {
  const r = await h.run(S, 'bash', { command: 'echo alive' }, { networking: limited() });
  expect(r.is_error, textOf(r)).toBe(false);
  expect(textOf(r)).toMatch(/(^|\n)alive$/);
}

describe('sandbox escapes', () => {
  it('cannot read host files, the data dir, the database or the log', async () => {
    const attempts = [
      'cat /root/.bashrc',
      `cat ${h.dataDir}/paddock.db`,
      `cat ${h.dataDir}/paddock.log`,
      'cat /etc/shadow',
      `find / -maxdepth 4 -path /proc -prune -o -path /sys -prune -o -name 'paddock.*' -print 2>/dev/null; echo done`,
    ];
    for (const command of attempts) {
      const t = textOf(await h.run(S, 'bash', { command }, { networking: limited() }));
      expect(t).not.toMatch(/DATABASE-CONTENTS|LOG-CONTENTS|^root:/m);
      expect(t).not.toMatch(/^\/.*paddock\.(db|log)$/m);
    }
    for (const file_path of [`${h.dataDir}/paddock.db`, '/root', '/proc/1/environ']) {
      const r = await h.run(S, 'read', { file_path }, { networking: limited() });
      expect(r.is_error).toBe(true);
    }
    expect((await h.run(S, 'grep', { pattern: 'DATABASE-CONTENTS', path: '/' }, { networking: limited() })).content).not.toContainEqual(
      expect.objectContaining({ text: expect.stringContaining(h.dataDir) }),
    );
    await stillWorks();
  });

  it('cannot write outside /workspace and /mnt/session/outputs', async () => {
    for (const file_path of ['/etc/passwd', '/usr/bin/evil', '/opt/paddock/agent.mjs', '/evil']) {
      const r = await h.run(S, 'write', { file_path, content: 'x' }, { networking: limited() });
      expect(r.is_error, `${file_path}: ${textOf(r)}`).toBe(true);
    }
    // The sandbox's /tmp is private: a write to the data dir's host path lands there, not on the host.
    await h.run(S, 'write', { file_path: `${h.dataDir}/planted`, content: 'x' }, { networking: limited() });
    await expect(fs.access(path.join(h.dataDir, 'planted'))).rejects.toThrow();
    const r = await h.run(S, 'bash', { command: 'touch /usr/evil /etc/evil /evil' }, { networking: limited() });
    expect(r.is_error).toBe(true);
    await expect(fs.access('/usr/evil')).rejects.toThrow();
    expect((await h.run(S, 'write', { file_path: '/mnt/session/outputs/ok.txt', content: 'fine' }, { networking: limited() })).is_error).toBe(false);
    await stillWorks();
  });

  it('cannot see host processes', async () => {
    const t = textOf(await h.run(S, 'bash', { command: 'ls /proc | grep -c "^[0-9]"; cat /proc/1/cmdline | tr "\\0" " "' }, { networking: limited() }));
    expect(Number(t.split('\n')[0])).toBeLessThan(30);
    expect(t).not.toMatch(/vitest|node.*serve/);
  });

  it("cannot read another session's workspace", async () => {
    const t = textOf(
      await h.run(
        S,
        'bash',
        {
          command: `cat ../sesn_victim/workspace/secret.txt ${h.dataDir}/sandboxes/sesn_victim/workspace/secret.txt; ls /workspace/..; find / -maxdepth 6 -path /proc -prune -o -path /sys -prune -o -path /usr -prune -o -name secret.txt -print 2>/dev/null; echo done`,
        },
        { networking: limited() },
      ),
    );
    expect(t).not.toMatch(/VICTIM-DATA|^\/.*secret\.txt$/m);
    expect(textOf(await h.run('sesn_victim', 'read', { file_path: 'secret.txt' }))).toBe('VICTIM-DATA');
  });

  it('sees no PADDOCK_* or ANTHROPIC_* variables or values', async () => {
    const t = textOf(await h.run(S, 'bash', { command: 'env; cat /proc/self/environ | tr "\\0" "\\n"' }, { networking: limited() }));
    expect(t).not.toMatch(/PADDOCK_|ANTHROPIC_|secret-value/);
  });
});

describe('network', () => {
  it("cannot reach Paddock's port on 127.0.0.1, directly or through the proxy, even when unrestricted", async () => {
    const net = { type: 'unrestricted' as const };
    const direct = await h.run('sesn_net1', 'bash', { command: `curl -sS -m 30 http://127.0.0.1:${paddockPort}/` }, { networking: net });
    expect(textOf(direct)).not.toMatch(/PADDOCK-API/);
    const viaProxy = await h.run(
      'sesn_net1',
      'bash',
      { command: `curl -sS -m 30 --noproxy '' -x "$HTTP_PROXY" http://127.0.0.1:${paddockPort}/` },
      { networking: net },
    );
    expect(textOf(viaProxy)).not.toMatch(/PADDOCK-API/);
    expect(textOf(viaProxy)).toMatch(/network egress refused: 127\.0\.0\.1:\d+ \(.*Paddock server itself\)/);
    const fetched = await h.run('sesn_net1', 'web_fetch', { url: `http://127.0.0.1:${paddockPort}/` }, { networking: net });
    expect(fetched.is_error).toBe(true);
    expect(textOf(fetched)).not.toMatch(/PADDOCK-API/);
  });

  it('cannot reach a host outside allowed_hosts; the refusal is reported to the session', async () => {
    const viaProxy = await h.run(
      S,
      'bash',
      { command: `curl -sS -m 30 --noproxy '' -x "$HTTP_PROXY" http://127.0.0.1:${outsidePort}/; curl -sS -m 30 http://127.0.0.1:${outsidePort}/` },
      { networking: limited() },
    );
    expect(textOf(viaProxy)).not.toMatch(/OUTSIDE-HOST/);
    expect(textOf(viaProxy)).toMatch(
      new RegExp(`network egress refused: 127\\.0\\.0\\.1:${outsidePort} \\(127\\.0\\.0\\.1 is not in the environment's allowed_hosts\\)`),
    );
    const tls = await h.run(S, 'bash', { command: `curl -sS -m 30 https://example.com/` }, { networking: limited() });
    expect(tls.is_error).toBe(true);
    expect(textOf(tls)).toMatch(/egress refused: example\.com:443/);
    const fetched = await h.run(S, 'web_fetch', { url: `http://127.0.0.1:${outsidePort}/` }, { networking: limited() });
    expect(fetched.is_error).toBe(true);
    expect(textOf(fetched)).not.toMatch(/OUTSIDE-HOST/);
    await stillWorks();
  });
});

describe('resource limits', () => {
  it('survives a fork bomb', async () => {
    // The command can only end by being stopped: however slowly the bomb grows, it is caught while running.
    const r = await h.run(S, 'bash', { command: ':(){ :|:& };:; while :; do sleep 1; done', timeout_ms: 50_000 }, { networking: limited() });
    expect(r.is_error).toBe(true);
    expect(textOf(r)).toMatch(/process limit/);
    await stillWorks();
  }, 120_000);

  it('stops a command filling the disk and keeps working', async () => {
    const big = await h.run(S, 'bash', { command: 'head -c 200M /dev/zero > big.bin' }, { networking: limited() });
    expect(big.is_error).toBe(true);
    expect(textOf(big)).toMatch(/disk quota is exceeded/);
    await h.run(S, 'bash', { command: 'rm -f big.bin' }, { networking: limited() });
    const many = await h.run(
      S,
      'bash',
      { command: 'for i in $(seq 1 100); do head -c 10M /dev/zero > f$i.bin || break; done', timeout_ms: 60_000 },
      { networking: limited() },
    );
    expect(many.is_error).toBe(true);
    expect(textOf(many)).toMatch(/disk quota is exceeded/);
    expect((await h.run(S, 'write', { file_path: 'more.txt', content: 'x' }, { networking: limited() })).is_error).toBe(true);
    // Over the quota, a command that deletes is never stopped, however long it runs (the sleep
    // only gives the quota check time to look while the workspace is still full).
    const rm = await h.run(S, 'bash', { command: 'sleep 2; rm -f big.bin f*.bin' }, { networking: limited() });
    expect(rm.is_error, textOf(rm)).toBe(false);
    expect((await h.run(S, 'write', { file_path: 'more.txt', content: 'x' }, { networking: limited() })).is_error).toBe(false);
    const tmp = await h.run(S, 'bash', { command: 'head -c 100M /dev/zero > /tmp/fill' }, { networking: limited() });
    expect(tmp.is_error).toBe(true);
    await stillWorks();
    await h.run(S, 'bash', { command: 'rm -f /tmp/fill' }, { networking: limited() });
  }, 120_000);

  it('keeps working when a background process fills /tmp after its command returned', async () => {
    const filled = path.join(h.executor.dirs(S).workspace, 'tmp-filled');
    await h.run(S, 'bash', { command: '(head -c 100M /dev/zero > /tmp/fill; touch /workspace/tmp-filled) >/dev/null 2>&1 &' }, { networking: limited() });
    while (
      !(await fs.access(filled).then(
        () => true,
        () => false,
      ))
    )
      await new Promise((r) => setTimeout(r, 50));
    await stillWorks();
    const rm = await h.run(S, 'bash', { command: 'rm -f /tmp/fill /workspace/tmp-filled && df -k /tmp | tail -1' }, { networking: limited() });
    expect(rm.is_error, textOf(rm)).toBe(false);
  });

  it('limits memory', async () => {
    const h2 = harness({ limits: { memoryMib: 256 } }, { serverPort: paddockPort });
    try {
      const r = await h2.run('sesn_mem', 'bash', { command: 'python3 -c "x = bytearray(1024*1024*1024)" 2>&1 || node -e "Buffer.alloc(1024*1024*1024, 1)"' });
      expect(r.is_error).toBe(true);
      expect(textOf(await h2.run('sesn_mem', 'bash', { command: 'echo ok' }))).toBe('ok');
    } finally {
      await h2.close();
    }
  });
});
