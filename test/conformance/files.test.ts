import Anthropic, { toFile } from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raw, startPaddock, type PaddockProcess } from '../support/paddock.js';

let p: PaddockProcess;
let client: Anthropic;

const MAX_FILE_BYTES = 64 * 1024;

beforeAll(async () => {
  p = await startPaddock({ env: { PADDOCK_MAX_FILE_BYTES: String(MAX_FILE_BYTES) } });
  client = p.client;
});
afterAll(async () => {
  await p?.stop();
});

async function up(name: string, content: string | Buffer, type?: string, extra: { expires_in_seconds?: number } = {}) {
  return client.beta.files.upload({ file: await toFile(Buffer.from(content), name, type ? { type } : undefined), ...extra });
}

/** A multipart body by hand, for what the SDK will not send. */
async function rawUpload(parts: Array<{ name: string; filename?: string; type?: string; value: string | Buffer }>) {
  const form = new FormData();
  for (const part of parts) {
    if (part.filename !== undefined)
      form.append(part.name, new Blob([typeof part.value === 'string' ? part.value : new Uint8Array(part.value)], { type: part.type ?? '' }), part.filename);
    else form.append(part.name, String(part.value));
  }
  const res = await fetch(`${p.url}/v1/files`, { method: 'POST', headers: { 'x-api-key': p.apiKey }, body: form });
  return { status: res.status, headers: res.headers, json: (await res.json()) as any };
}

describe('files: upload, retrieve, download, delete', () => {
  it('upload returns FileMetadata; retrieve and download give it back with the stored content type', async () => {
    const f = await up('notes.csv', 'a,b\n1,2\n', 'text/csv');
    expect(f.id).toMatch(/^file_01/);
    expect(f).toMatchObject({ type: 'file', filename: 'notes.csv', mime_type: 'text/csv', size_bytes: 8, downloadable: true, expires_at: null, scope: null });
    expect(Date.parse(f.created_at)).not.toBeNaN();
    expect(await client.beta.files.retrieveMetadata(f.id)).toEqual(f);
    const res = await client.beta.files.download(f.id);
    expect(res.headers.get('content-type')).toBe('text/csv');
    expect(await res.text()).toBe('a,b\n1,2\n');
  });

  it('binary content round-trips byte for byte', async () => {
    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) % 256));
    const f = await up('blob.bin', bytes, 'application/octet-stream');
    const res = await client.beta.files.download(f.id);
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
    expect(f.size_bytes).toBe(4096);
  });

  it('keeps only the last path component of the filename; an empty name becomes unnamed.<ext>', async () => {
    const nested = await up('dir/sub/report.txt', 'x', 'text/plain');
    expect(nested.filename).toBe('report.txt');
    const windows = await rawUpload([{ name: 'file', filename: 'C:\\Users\\me\\data.json', type: 'application/json', value: '{}' }]);
    expect(windows.status).toBe(200);
    expect(windows.json.filename).toBe('data.json');
    const empty = await rawUpload([{ name: 'file', filename: 'dir/', type: 'text/plain', value: 'x' }]);
    expect(empty.status).toBe(200);
    expect(empty.json.filename).toBe('unnamed.txt');
  });

  it('infers a content type from the extension when the client sent none', async () => {
    const f = await up('chart.png', 'not really a png');
    expect(f.mime_type).toBe('image/png');
  });

  it('expires_in_seconds sets expires_at; out-of-range values are 400s', async () => {
    const before = Date.now();
    const f = await up('tmp.txt', 'x', 'text/plain', { expires_in_seconds: 3600 });
    expect(Date.parse(f.expires_at!) - before).toBeGreaterThanOrEqual(3600 * 1000 - 5000);
    for (const bad of [10, 7_776_001]) {
      const err = await up('tmp.txt', 'x', 'text/plain', { expires_in_seconds: bad }).catch((e) => e);
      expect(err).toBeInstanceOf(Anthropic.BadRequestError);
      expect(err.error.error.message).toMatch(/expires_in_seconds/);
    }
  });

  it('delete answers {id, type:"file_deleted"}; afterwards the file and its content are gone', async () => {
    const f = await up('gone.txt', 'bye', 'text/plain');
    expect(await client.beta.files.delete(f.id)).toEqual({ id: f.id, type: 'file_deleted' });
    await expect(client.beta.files.retrieveMetadata(f.id)).rejects.toBeInstanceOf(Anthropic.NotFoundError);
    await expect(client.beta.files.download(f.id)).rejects.toBeInstanceOf(Anthropic.NotFoundError);
    await expect(client.beta.files.delete(f.id)).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  });
});

describe('files: bad input is a 4xx in the error envelope', () => {
  it('an upload over the size limit is a 413', async () => {
    const r = await rawUpload([{ name: 'file', filename: 'big.bin', value: Buffer.alloc(MAX_FILE_BYTES + 1, 1) }]);
    expect(r.status).toBe(413);
    expect(r.json).toMatchObject({ type: 'error', error: { type: 'request_too_large' } });
    const exact = await rawUpload([{ name: 'file', filename: 'edge.bin', value: Buffer.alloc(MAX_FILE_BYTES, 1) }]);
    expect(exact.status).toBe(200);
    expect(exact.json.size_bytes).toBe(MAX_FILE_BYTES);
  });

  it('no file part, a JSON body, or unknown ids', async () => {
    const none = await rawUpload([{ name: 'expires_in_seconds', value: '3600' }]);
    expect(none.status).toBe(400);
    expect(none.json.error.type).toBe('invalid_request_error');
    const json = await raw(p, 'POST', '/v1/files', { body: { file: 'x' } });
    expect(json.status).toBe(400);
    expect(json.json.type).toBe('error');
    for (const path of ['/v1/files/file_01nope', '/v1/files/file_01nope/content', '/v1/files/not-a-file']) {
      const r = await raw(p, 'GET', path);
      expect(r.status).toBe(404);
      expect(r.json.error.type).toBe('not_found_error');
    }
  });

  it('a multipart content type without a boundary is a 400 that says so (found by the schema fuzz)', async () => {
    for (const type of ['multipart/form-data', 'multipart/form-data; charset=utf-8', 'multipart/form-data; boundary=']) {
      const r = await raw(p, 'POST', '/v1/files', { rawBody: 'file', headers: { 'content-type': type } });
      expect(r.status, type).toBe(400);
      expect(r.json.error, type).toEqual({ type: 'invalid_request_error', message: 'content-type: multipart/form-data needs a boundary parameter' });
    }
  });
});

describe('files: list', () => {
  let ids: string[] = [];
  let fresh: PaddockProcess;

  beforeAll(async () => {
    fresh = await startPaddock();
    ids = [];
    for (let i = 0; i < 5; i++) {
      const f = await fresh.client.beta.files.upload({ file: await toFile(Buffer.from(`file ${i}`), `f${i}.txt`, { type: 'text/plain' }) });
      ids.push(f.id);
    }
  });
  afterAll(async () => {
    await fresh?.stop();
  });

  it('PageCursor: newest first, the SDK iterator walks every page', async () => {
    const seen: string[] = [];
    for await (const f of fresh.client.beta.files.list({ limit: 2 })) seen.push(f.id);
    expect(seen).toEqual([...ids].reverse());
    const first = await fresh.client.beta.files.list({ limit: 2 });
    expect(first.data.map((f) => f.id)).toEqual([ids[4], ids[3]]);
    expect(first.next_page).toBeTruthy();
  });

  it('every page also carries the legacy fields; after_id / before_id page like SDK 0.x does', async () => {
    const p1 = (await raw(fresh, 'GET', '/v1/files?limit=2')).json;
    expect(p1).toMatchObject({ has_more: true, first_id: ids[4], last_id: ids[3] });
    expect(typeof p1.next_page).toBe('string');
    const p2 = (await raw(fresh, 'GET', `/v1/files?limit=2&after_id=${p1.last_id}`)).json;
    expect(p2.data.map((f: any) => f.id)).toEqual([ids[2], ids[1]]);
    expect(p2).toMatchObject({ has_more: true, first_id: ids[2], last_id: ids[1] });
    const p3 = (await raw(fresh, 'GET', `/v1/files?limit=2&after_id=${p2.last_id}`)).json;
    expect(p3.data.map((f: any) => f.id)).toEqual([ids[0]]);
    expect(p3).toMatchObject({ has_more: false, first_id: ids[0], last_id: ids[0], next_page: null });
    const back = (await raw(fresh, 'GET', `/v1/files?limit=2&before_id=${ids[1]}`)).json;
    expect(back.data.map((f: any) => f.id)).toEqual([ids[3], ids[2]]);
    expect(back).toMatchObject({ has_more: true, first_id: ids[3], last_id: ids[2] });
    const top = (await raw(fresh, 'GET', `/v1/files?limit=2&before_id=${ids[3]}`)).json;
    expect(top.data.map((f: any) => f.id)).toEqual([ids[4]]);
    expect(top.has_more).toBe(false);
    const empty = (await raw(fresh, 'GET', `/v1/files?after_id=${ids[0]}`)).json;
    expect(empty).toEqual({ data: [], next_page: null, has_more: false, first_id: null, last_id: null });
  });

  it('ids[] returns just those files on one page; it cannot be combined with page or limit', async () => {
    const page = await fresh.client.beta.files.list({ ids: [ids[1], ids[3], 'file_01missing'] });
    expect(page.data.map((f) => f.id).sort()).toEqual([ids[1], ids[3]].sort());
    expect(page.next_page).toBeNull();
    const mixed = await raw(fresh, 'GET', `/v1/files?ids[]=${ids[1]}&limit=2`);
    expect(mixed.status).toBe(400);
    const many = Array.from({ length: 101 }, (_, i) => `ids[]=file_01x${i}`).join('&');
    expect((await raw(fresh, 'GET', `/v1/files?${many}`)).status).toBe(400);
  });

  it('scope_id filters to files a session wrote (this one wrote none, so uploads are excluded)', async () => {
    const page = await fresh.client.beta.files.list({ scope_id: 'sesn_01nothinghere', betas: ['managed-agents-2026-04-01'] });
    expect(page.data).toEqual([]);
    expect(page.next_page).toBeNull();
  });
});
