import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A scripted Messages API on 127.0.0.1: the one thing tests may fake. Paddock reaches it through
 * ANTHROPIC_BASE_URL with its real model client, so every test runs the real request, streaming
 * and error-handling code. Responses come from a queue (or a function of the request); every
 * request is recorded so tests can assert what the model saw.
 */

export type ScriptedBlock =
  | { type: 'text'; text: string }
  | { type: 'thinking'; thinking: string; signature?: string }
  | { type: 'tool_use'; name: string; input: Record<string, unknown>; id?: string };

export interface ScriptedResponse {
  content?: ScriptedBlock[];
  /** Defaults to tool_use when the content has a tool_use block, else end_turn. */
  stop_reason?: string;
  usage?: { input_tokens?: number; output_tokens?: number; cache_read_input_tokens?: number; cache_creation_input_tokens?: number };
  /** Answer with this HTTP error status instead (429, 529, 500, 400, …). */
  status?: number;
  errorType?: string;
  errorMessage?: string;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Wait this long between stream events (a slow stream). */
  chunkDelayMs?: number;
  /** Stream the first events, then never finish (until the client goes away). */
  hang?: boolean;
}

export interface RecordedRequest {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

export type Script = ScriptedResponse | ((req: RecordedRequest) => ScriptedResponse | Promise<ScriptedResponse>);

export interface ScriptedModel {
  url: string;
  requests: RecordedRequest[];
  /** Responses for the next requests, in order. */
  enqueue(...scripts: Script[]): void;
  /** What to answer when the queue is empty (default: the text "ok"). */
  setFallback(script: Script): void;
  /** Resolves once `n` requests in total have arrived. */
  waitForRequests(n: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  /** Requests whose stream was abandoned by the client mid-way. */
  aborted: number;
  close(): Promise<void>;
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

let nextId = 1;
const id = (prefix: string) => `${prefix}_scripted${String(nextId++).padStart(6, '0')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Splits text the way a model streams it: a few words per delta. */
function chunks(text: string): string[] {
  const words = text.match(/\S+\s*|\s+/g) ?? [];
  const out: string[] = [];
  for (let i = 0; i < words.length; i += 2) out.push(words.slice(i, i + 2).join(''));
  return out.length ? out : [''];
}

export function messageBody(r: ScriptedResponse, model: string) {
  const content = (r.content ?? [{ type: 'text', text: 'ok' }]).map((b) => {
    if (b.type === 'tool_use') return { type: 'tool_use', id: b.id ?? id('toolu'), name: b.name, input: b.input };
    if (b.type === 'thinking') return { type: 'thinking', thinking: b.thinking, signature: b.signature ?? `sig-${b.thinking.length}` };
    return { type: 'text', text: b.text, citations: null };
  });
  const stop_reason = r.stop_reason ?? (content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn');
  const usage = {
    input_tokens: r.usage?.input_tokens ?? 10,
    output_tokens: r.usage?.output_tokens ?? 5,
    cache_creation_input_tokens: r.usage?.cache_creation_input_tokens ?? 0,
    cache_read_input_tokens: r.usage?.cache_read_input_tokens ?? 0,
  };
  return { id: id('msg'), type: 'message', role: 'assistant', model, content, stop_reason, stop_sequence: null, usage };
}

async function readBody(req: IncomingMessage): Promise<string> {
  let s = '';
  for await (const c of req) s += c;
  return s;
}

export async function startScriptedModel(): Promise<ScriptedModel> {
  const queue: Script[] = [];
  let fallback: Script = {};
  const requests: RecordedRequest[] = [];
  const waiters: Array<() => void> = [];
  const sockets = new Set<Socket>();

  const state = { aborted: 0 };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST' || !req.url?.startsWith('/v1/messages')) {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: 'not found' } }));
      return;
    }
    const body = JSON.parse((await readBody(req)) || '{}');
    const rec: RecordedRequest = { path: req.url, headers: req.headers, body };
    requests.push(rec);
    waiters.splice(0).forEach((w) => w());
    const script = queue.shift() ?? fallback;
    const r = typeof script === 'function' ? await script(rec) : script;
    if (r.delayMs) await sleep(r.delayMs);
    if (r.status && r.status >= 400) {
      const type = r.errorType ?? ERROR_TYPES[r.status] ?? 'api_error';
      const headers: Record<string, string> = { 'content-type': 'application/json', 'request-id': id('req') };
      res.writeHead(r.status, headers).end(JSON.stringify({ type: 'error', error: { type, message: r.errorMessage ?? `scripted ${r.status}` } }));
      return;
    }
    const msg = messageBody(r, body.model);
    if (!body.stream) {
      res.writeHead(200, { 'content-type': 'application/json', 'request-id': id('req') }).end(JSON.stringify(msg));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': id('req') });
    let gone = false;
    res.on('close', () => {
      if (!res.writableEnded) {
        gone = true;
        state.aborted++;
      }
    });
    const send = async (type: string, data: unknown) => {
      if (gone) return;
      res.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
      if (r.chunkDelayMs) await sleep(r.chunkDelayMs);
    };
    await send('message_start', { type: 'message_start', message: { ...msg, content: [], stop_reason: null, usage: { ...msg.usage, output_tokens: 1 } } });
    await send('ping', { type: 'ping' });
    for (const [index, b] of msg.content.entries()) {
      if (b.type === 'text') {
        await send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '', citations: null } });
        for (const text of chunks(b.text as string))
          await send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text } });
      } else if (b.type === 'thinking') {
        await send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } });
        for (const thinking of chunks(b.thinking as string))
          await send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking } });
        await send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: b.signature } });
      } else {
        await send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: b.id, name: b.name, input: {} } });
        const json = JSON.stringify(b.input);
        for (let i = 0; i < json.length; i += 10)
          await send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: json.slice(i, i + 10) } });
      }
      await send('content_block_stop', { type: 'content_block_stop', index });
      if (r.hang && index === 0) {
        while (!gone) await sleep(50);
        return;
      }
    }
    if (r.hang) while (!gone) await sleep(50);
    await send('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: msg.stop_reason, stop_sequence: null },
      usage: { output_tokens: msg.usage.output_tokens },
    });
    await send('message_stop', { type: 'message_stop' });
    res.end();
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
      else res.end();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get aborted() {
      return state.aborted;
    },
    enqueue: (...s) => void queue.push(...s),
    setFallback: (s) => void (fallback = s),
    waitForRequests: async (n, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      while (requests.length < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} model requests, got ${requests.length}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
      return requests;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
