/** A raw SSE client for what the SDK hides: `event:` lines, ping frames, `id:` lines, resume headers. */
export interface SseFrame {
  event?: string;
  id?: string;
  data: string;
}

export interface RawStream {
  status: number;
  headers: Headers;
  /** The next frame, waiting up to `timeoutMs`; rejects on timeout. Returns undefined once the stream ended. */
  next(timeoutMs?: number): Promise<SseFrame | undefined>;
  /** Frames until one matches (the matching one included), skipping pings unless asked for. */
  until(pred: (f: SseFrame) => boolean, timeoutMs?: number): Promise<SseFrame[]>;
  close(): void;
}

export async function openSse(url: string, apiKey: string, headers: Record<string, string> = {}): Promise<RawStream> {
  const ac = new AbortController();
  const res = await fetch(url, { headers: { 'x-api-key': apiKey, ...headers }, signal: ac.signal });
  const frames: SseFrame[] = [];
  const waiters: Array<() => void> = [];
  let ended = false;
  let buf = '';
  const wake = () => waiters.splice(0).forEach((w) => w());
  void (async () => {
    try {
      const decoder = new TextDecoder();
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const f: SseFrame = { data: '' };
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) f.event = line.slice(7);
            else if (line.startsWith('id: ')) f.id = line.slice(4);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          f.data = data.join('\n');
          frames.push(f);
        }
        wake();
      }
    } catch {
      // aborted by close()
    } finally {
      ended = true;
      wake();
    }
  })();

  const next = async (timeoutMs = 5000): Promise<SseFrame | undefined> => {
    const deadline = Date.now() + timeoutMs;
    while (frames.length === 0) {
      if (ended) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no SSE frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return frames.shift();
  };

  return {
    status: res.status,
    headers: res.headers,
    next,
    async until(pred, timeoutMs = 5000) {
      const out: SseFrame[] = [];
      for (;;) {
        const f = await next(timeoutMs);
        if (!f) throw new Error(`stream ended before the expected frame; got ${JSON.stringify(out)}`);
        out.push(f);
        if (pred(f)) return out;
      }
    },
    close: () => ac.abort(),
  };
}
