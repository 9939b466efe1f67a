import { spawn } from 'node:child_process';
import { promises as fs, writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentChannel, MAX_FRAME_BYTES } from '../../src/sandbox/channel.js';
import { harness, textOf, type Harness } from '../sandbox/harness.js';

// Attacks from the agent's bash tool on what sits beside it in the sandbox: the tool agent and
// its channel to Paddock, the disk quota, and what the sandbox can learn about the host.
let h: Harness;
const S = 'sesn_isolation';
const QUOTA_MIB = 64;
const PLANTED = '/etc/paddock-test-planted.conf';

beforeAll(() => {
  h = harness({ limits: { diskMib: QUOTA_MIB } });
  // A world-readable host file the sandbox must not see (as a unit file with a key would be).
  writeFileSync(PLANTED, 'PLANTED-HOST-SECRET\n', { mode: 0o644 });
});
afterAll(async () => {
  await h.close();
  rmSync(PLANTED, { force: true });
});

async function bash(command: string, session = S, hh = h): Promise<{ is_error: boolean; text: string }> {
  const r = await hh.run(session, 'bash', { command, timeout_ms: 60_000 });
  return { is_error: r.is_error, text: textOf(r) };
}

describe('the tool agent is out of reach of the session', () => {
  it("the session's processes cannot see the agent, its channel or its /proc entries", async () => {
    const r = await bash(
      'for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline 2>/dev/null; echo; done; ls -l /proc/[0-9]*/fd 2>/dev/null | grep -c pipe || true',
    );
    expect(r.text).not.toMatch(/agent\.mjs|node /);
  });

  it('writing junk into every pipe it can find, killing everything and tracing every pid leaves the session working', async () => {
    // The old attack: the agent's stdout (fd 1) is Paddock's channel; junk with no newline made
    // every later reply unparseable, so calls hung.
    // The shell's state survives only if the sandbox does: a restart would lose it.
    await bash('export MARK=kept');
    await bash('for f in /proc/[0-9]*/fd/1; do printf "junk-without-newline" > "$f" 2>/dev/null; done; true');
    // PTRACE_SEIZE then PTRACE_DETACH: takes hold of every process it may trace without stopping it.
    await bash(
      'python3 -c "import ctypes\nlibc=ctypes.CDLL(None)\nfor pid in range(1,400):\n  libc.ptrace(0x4206, pid, 0, 0) == 0 and libc.ptrace(17, pid, 0, 0)\n" 2>/dev/null; true',
    );
    await bash('kill -9 -1 2>/dev/null; true');
    const r = await bash('echo still-alive $MARK');
    expect(r).toEqual({ is_error: false, text: 'still-alive kept' });
    expect(textOf(await h.run(S, 'write', { file_path: 'w.txt', content: 'ok' }))).toMatch(/wrote 2 bytes/);
  });
});

describe('the channel to the agent treats what comes back as untrusted', () => {
  const log = pino({ level: 'silent' });
  /** A stand-in agent that says it is ready, then runs `script` (JavaScript) on stdout. */
  function rogue(script: string): AgentChannel {
    const child = spawn(process.execPath, ['-e', `process.stdout.write(JSON.stringify({id:0,result:{is_error:false,content:[]}})+"\\n"); ${script}`], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return new AgentChannel(child, log);
  }

  it('a reply longer than the frame bound kills the sandbox instead of growing without bound', async () => {
    const ch = rogue(
      `const chunk = 'x'.repeat(1 << 20); let n = 0; const more = () => { while (n++ < ${MAX_FRAME_BYTES / (1 << 20) + 8}) if (!process.stdout.write(chunk)) return process.stdout.once('drain', more); }; process.stdin.once('data', more); setInterval(() => {}, 1000);`,
    );
    await ch.ready;
    const r = await ch.call('ping', {}, 60_000);
    expect(r.is_error).toBe(true);
    expect(JSON.stringify(r.content)).toMatch(/longer than/);
    await ch.exited;
  });

  it('junk without a newline, then silence: the call ends at its deadline and the sandbox is killed', async () => {
    const ch = rogue(`process.stdin.once('data', () => process.stdout.write('junk-without-newline')); setInterval(() => {}, 1000);`);
    await ch.ready;
    const r = await ch.call('ping', {}, 500);
    expect(r.is_error).toBe(true);
    expect(JSON.stringify(r.content)).toMatch(/no answer within/);
    await ch.exited;
  });

  it('a reply that is not JSON, answers no call or is not a tool result kills the sandbox', async () => {
    for (const reply of ['not json', JSON.stringify({ id: 999, result: { is_error: false, content: [] } }), JSON.stringify({ id: 1, result: 'x' })]) {
      const ch = rogue(`process.stdin.once('data', () => process.stdout.write(${JSON.stringify(reply + '\n')})); setInterval(() => {}, 1000);`);
      await ch.ready;
      const r = await ch.call('ping', {}, 30_000);
      expect(r.is_error, reply).toBe(true);
      await ch.exited;
    }
  });

  it('a well-formed reply still answers its call', async () => {
    const ch = rogue(
      `require('readline').createInterface({input: process.stdin}).on('line', (l) => { const {id} = JSON.parse(l); process.stdout.write(JSON.stringify({id, result: {is_error: false, content: [{type: 'text', text: 'pong'}]}}) + '\\n'); });`,
    );
    await ch.ready;
    expect(await ch.call('ping', {}, 30_000)).toEqual({ is_error: false, content: [{ type: 'text', text: 'pong' }] });
    await ch.close();
  });
});

describe('the disk quota holds against background writers', () => {
  /** Host-side bytes under the session's workspace and outputs, each inode once. */
  async function usedBytes(hh: Harness, session: string): Promise<number> {
    const dirs = hh.executor.dirs(session);
    let total = 0;
    const seen = new Set<number>();
    const walk = async (d: string): Promise<void> => {
      for (const e of await fs.readdir(d, { withFileTypes: true }).catch(() => [])) {
        const st = await fs.lstat(path.join(d, e.name)).catch(() => undefined);
        if (!st || seen.has(st.ino)) continue;
        seen.add(st.ino);
        total += st.blocks * 512;
        if (st.isDirectory()) await walk(path.join(d, e.name));
      }
    };
    await walk(dirs.workspace);
    await walk(dirs.outputs);
    return total;
  }

  async function waitForFile(hh: Harness, session: string, name: string): Promise<void> {
    await bash(`while [ ! -e /tmp/${name} ]; do sleep 0.2; done`, session, hh);
  }

  it('on a session volume: a writer left running after its command returned stops at the quota', async () => {
    const session = 'sesn_quota_bg';
    // The command returns at once; the writer goes on in the background, writing 4x the quota.
    const r = await bash(
      '(for i in $(seq 1 32); do head -c 8M /dev/zero > /workspace/bg$i.bin 2>/dev/null; done; touch /tmp/bg-done) >/dev/null 2>&1 &',
      session,
    );
    expect(r.is_error).toBe(false);
    await waitForFile(h, session, 'bg-done');
    expect(await usedBytes(h, session)).toBeLessThanOrEqual(QUOTA_MIB * 1024 * 1024);
    // A writer that fills outputs with hard links and sparse files cannot get around it either.
    await bash(
      'rm -f /workspace/bg*.bin; head -c 40M /dev/zero > /workspace/a.bin; for i in $(seq 1 50); do ln /workspace/a.bin /workspace/l$i 2>/dev/null; done; truncate -s 100G /workspace/sparse.bin; true',
      session,
    );
    expect(await usedBytes(h, session)).toBeLessThanOrEqual(QUOTA_MIB * 1024 * 1024);
    const df = await bash('df -k /workspace | tail -1', session);
    expect(Number(df.text.trim().split(/\s+/)[1]) * 1024).toBeLessThanOrEqual(QUOTA_MIB * 1024 * 1024);
    expect((await bash('rm -f /workspace/*.bin /workspace/l*; echo freed', session)).text).toBe('freed');
  }, 120_000);

  it('on plain directories (no volume): the guard stops a background writer soon after it passes the quota', async () => {
    const hd = harness({ limits: { diskMib: QUOTA_MIB }, volume: 'directory' });
    try {
      const session = 'sesn_quota_dir';
      expect(hd.executor.dirs(session).volume).toBeUndefined();
      // 1 MiB every 20 ms: about 3x the quota in total, slow enough for the guard to look often.
      await bash(
        '(for i in $(seq 1 200); do head -c 1M /dev/zero > /workspace/bg$i.bin; sleep 0.02; done; touch /workspace/bg-finished) >/dev/null 2>&1 &',
        session,
        hd,
      );
      await bash('sleep 10; true', session, hd);
      await expect(fs.access(path.join(hd.executor.dirs(session).workspace, 'bg-finished'))).rejects.toThrow();
      expect(await usedBytes(hd, session)).toBeLessThan(200 * 1024 * 1024);
      expect((await bash('rm -f /workspace/bg*.bin; echo freed', session, hd)).text).toBe('freed');
    } finally {
      await hd.close();
    }
  }, 120_000);

  it("ulimit -f is the quota in bash's 1024-byte blocks", async () => {
    expect((await bash('ulimit -f')).text).toBe(String(QUOTA_MIB * 1024));
  });
});

describe('what the sandbox can learn about the host', () => {
  it('has a minimal /etc of its own: no host secrets, no host users', async () => {
    const r = await bash(`cat ${PLANTED} 2>&1; ls /etc; echo ---; cat /etc/passwd; echo ---; getent passwd root; id -un`);
    expect(r.text).not.toMatch(/PLANTED-HOST-SECRET/);
    const [ls, passwd] = r.text.split('---\n');
    for (const hidden of ['shadow', 'gshadow', 'sudoers', 'ssh', 'systemd', 'paddock-test-planted.conf', 'machine-id'])
      expect(ls.split('\n')).not.toContain(hidden);
    expect(
      passwd
        .trim()
        .split('\n')
        .map((l) => l.split(':')[0]),
    ).toEqual(['root', 'user']);
    // What programs need is still there: TLS roots, the linker cache, alternatives.
    expect((await bash('ls /etc/ssl/certs | head -1 && test -e /etc/ld.so.cache && ls /etc/alternatives | head -1')).is_error).toBe(false);
  });

  it('its mount table names no host path and no session id', async () => {
    const r = await bash('cat /proc/self/mountinfo');
    expect(r.is_error).toBe(false);
    expect(r.text).not.toContain(h.dataDir);
    expect(r.text).not.toContain(S);
    expect(r.text).not.toMatch(/sandboxes|paddock-sbx/);
  });
});
