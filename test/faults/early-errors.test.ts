import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPaddock, type PaddockProcess } from '../support/paddock.js';
import { multipartBody, rawConnection, request, type RawConnection } from '../support/raw-http.js';

/**
 * An error answered while the request body is still arriving (a bad multipart part, an upload
 * over the limit, a JSON body over the limit, a wrong key) must not strand the connection: the
 * rest of the body is read and thrown away, so the client's next request on the same keep-alive
 * connection is answered. A body larger than the server is willing to read to no purpose
 * (PADDOCK_MAX_BODY_BYTES) gets `connection: close` instead, and the connection ends after the
 * answer; one of unknown length is read up to that limit and then cut off.
 */
const MAX_BODY = 256 * 1024;
const MAX_FILE = 128 * 1024;
let p: PaddockProcess;

beforeAll(async () => {
  p = await startPaddock({ env: { PADDOCK_MAX_BODY_BYTES: String(MAX_BODY), PADDOCK_MAX_FILE_BYTES: String(MAX_FILE), PADDOCK_SANDBOX: 'none' } });
});
afterAll(async () => {
  await p?.stop();
});

const MULTIPART = 'multipart/form-data; boundary=paddockboundary';
const upload = (name: string, size: number) => request('POST', '/v1/files', { 'x-api-key': p.apiKey, 'content-type': MULTIPART }, multipartBody(name, size));

/** The same upload in chunked transfer encoding (no content-length: the server cannot know its size). */
function chunkedUpload(name: string, size: number): Buffer {
  const body = multipartBody(name, size);
  const head = request('POST', '/v1/files', { 'x-api-key': p.apiKey, 'content-type': MULTIPART, 'transfer-encoding': 'chunked' });
  const chunks: Buffer[] = [head];
  for (let i = 0; i < body.length; i += 16 * 1024) {
    const c = body.subarray(i, i + 16 * 1024);
    chunks.push(Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(chunks);
}

async function nextRequestAnswered(conn: RawConnection): Promise<void> {
  conn.write(request('GET', '/v1/files?limit=1', { 'x-api-key': p.apiKey }));
  const second = await conn.response();
  expect(second.status).toBe(200);
  expect(JSON.parse(second.body)).toHaveProperty('data');
}

async function connectionEnds(conn: RawConnection): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!conn.ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(conn.ended).toBe(true);
}

interface Case {
  name: string;
  make: () => Buffer;
  status: number;
  /** What becomes of the connection after the answer. */
  after: 'kept' | 'closed' | 'cut';
}

const cases: Case[] = [
  { name: 'a file in a part not named "file"', make: () => upload('wrong', MAX_BODY - 4096), status: 400, after: 'kept' },
  { name: 'a chunked upload with a part not named "file"', make: () => chunkedUpload('wrong', MAX_BODY - 4096), status: 400, after: 'kept' },
  { name: 'a file over PADDOCK_MAX_FILE_BYTES', make: () => upload('file', MAX_FILE + 64 * 1024), status: 413, after: 'kept' },
  {
    name: 'a body sent with a wrong API key',
    make: () => request('POST', '/v1/files', { 'x-api-key': 'sk-wrong', 'content-type': MULTIPART }, multipartBody('file', 200_000)),
    status: 401,
    after: 'kept',
  },
  // Larger than the server reads to no purpose: it says so, answers, and ends the connection.
  {
    name: 'a JSON body over PADDOCK_MAX_BODY_BYTES',
    make: () => request('POST', '/v1/agents', { 'x-api-key': p.apiKey, 'content-type': 'application/json' }, `{"name":"${'x'.repeat(MAX_BODY + 1024)}"}`),
    status: 413,
    after: 'closed',
  },
  { name: 'an upload with a bad part and more than PADDOCK_MAX_BODY_BYTES to come', make: () => upload('wrong', MAX_BODY * 4), status: 400, after: 'closed' },
  // No length given: read up to the limit, then cut off.
  {
    name: 'a chunked upload with a bad part and more than PADDOCK_MAX_BODY_BYTES to come',
    make: () => chunkedUpload('wrong', MAX_BODY * 4),
    status: 400,
    after: 'cut',
  },
];

it.each(cases)('after an early error for $name, the client gets the answer and the connection is $after', async ({ make, status, after }) => {
  const conn = await rawConnection(p.url);
  try {
    conn.write(make());
    const first = await conn.response();
    expect(first.status).toBe(status);
    expect(JSON.parse(first.body)).toMatchObject({ type: 'error', error: { type: expect.any(String), message: expect.any(String) } });
    if (after === 'kept') {
      expect(first.headers.connection).not.toBe('close');
      await nextRequestAnswered(conn);
    } else {
      if (after === 'closed') expect(first.headers.connection).toBe('close');
      await connectionEnds(conn);
    }
  } finally {
    conn.close();
  }
});
