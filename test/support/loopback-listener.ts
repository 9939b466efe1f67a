import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** An HTTP server on 127.0.0.1 and ::1 at one port, counting every connection it accepts. */
export interface LoopbackListener {
  port: number;
  /** Connections accepted so far (on either address); tests reset it. */
  hits: number;
  close(): void;
}

export async function listenLoopback(handler: http.RequestListener): Promise<LoopbackListener> {
  for (;;) {
    const l: LoopbackListener = { port: 0, hits: 0, close: () => {} };
    const v4 = http.createServer(handler).on('connection', () => l.hits++);
    await new Promise<void>((r) => v4.listen(0, '127.0.0.1', r));
    l.port = (v4.address() as AddressInfo).port;
    const v6 = http.createServer(handler).on('connection', () => l.hits++);
    const ok = await new Promise<boolean>((r) => v6.once('error', () => r(false)).listen(l.port, '::1', () => r(true)));
    if (!ok) {
      // The port is taken on ::1: try another.
      v4.close();
      continue;
    }
    l.close = () => {
      for (const s of [v4, v6]) {
        s.closeAllConnections();
        s.close();
      }
    };
    return l;
  }
}
