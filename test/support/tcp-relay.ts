import net from 'node:net';

/**
 * A TCP relay in front of a server (Postgres), to cut the network between Paddock and it: in
 * `blackhole` mode every open connection is cut and new ones are accepted but never answered, as
 * a database host that hangs (or a failover in progress) looks to its clients.
 */
export interface TcpRelay {
  port: number;
  blackhole(): void;
  forward(): void;
  close(): Promise<void>;
}

export async function startTcpRelay(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpRelay> {
  let mode: 'forward' | 'blackhole' = 'forward';
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  };
  const cutAll = () => {
    for (const s of sockets) s.destroy();
  };
  const server = net.createServer((client) => {
    track(client);
    if (mode === 'blackhole') return; // accepted, never answered
    const upstream = net.connect(targetPort, targetHost);
    track(upstream);
    client.pipe(upstream).pipe(client);
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', cut);
    upstream.on('close', cut);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    blackhole: () => {
      mode = 'blackhole';
      cutAll();
    },
    forward: () => {
      mode = 'forward';
      // Connections held in the blackhole are of no use any more.
      cutAll();
    },
    close: async () => {
      cutAll();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
