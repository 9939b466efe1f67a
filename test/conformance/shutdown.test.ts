import http from 'node:http';
import { toFile } from '@anthropic-ai/sdk';
import { expect, it } from 'vitest';
import { startPaddock } from '../support/paddock.js';

// A graceful stop must not wait out the keep-alive timeout (72 s) of a connection whose response
// was still being sent when the stop began: it ends once that response is done. About one
// process's own connections: behind the test cluster's proxy (PADDOCK_TEST_NODES) it does not apply.
it.skipIf(Number(process.env.PADDOCK_TEST_NODES ?? 0) > 1)(
  'a graceful stop finishes the response in flight, then exits without waiting on its connection',
  async () => {
    const p = await startPaddock();
    const size = 16 * 1024 * 1024; // more than loopback socket buffers hold: the response cannot finish unread
    const file = await p.client.beta.files.upload({ file: await toFile(Buffer.alloc(size, 'x'), 'big.txt', { type: 'text/plain' }) });
    const agent = new http.Agent({ keepAlive: true });
    const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http
        .get(`${p.url}/v1/files/${file.id}/content`, { agent, headers: { 'x-api-key': p.apiKey, 'anthropic-beta': 'files-api-2025-04-14' } }, resolve)
        .on('error', reject),
    );
    expect(res.statusCode).toBe(200);
    res.pause();
    const stopped = p.stop();
    while (!p.output().includes('shutting down')) await new Promise((r) => setTimeout(r, 20));
    let received = 0;
    res.on('data', (c: Buffer) => (received += c.length));
    await new Promise((r) => res.on('end', r).resume());
    expect(received).toBe(size);
    await stopped;
    agent.destroy();
  },
);

// Event streams never finish by themselves: a graceful stop must end them rather than wait forever.
it.skipIf(Number(process.env.PADDOCK_TEST_NODES ?? 0) > 1)('a graceful stop ends open event streams and exits', async () => {
  const p = await startPaddock();
  const env = await p.client.beta.environments.create({ name: 'shutdown' });
  const agent = await p.client.beta.agents.create({ name: 'shutdown', model: 'claude-opus-4-7' });
  const s = await p.client.beta.sessions.create({ agent: agent.id, environment_id: env.id });
  const stream = await p.client.beta.sessions.events.stream(s.id);
  const seen: string[] = [];
  const consumed = (async () => {
    for await (const e of stream) seen.push(e.type);
  })();
  await p.stop();
  await consumed; // the SDK's iteration ends because the server ended the stream
  expect(p.proc.exitCode).toBe(0);
  expect(seen).toEqual([]);
});
