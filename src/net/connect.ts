import net from 'node:net';

/** Opens a TCP connection to an address that has already been checked (no name lookup here). */
export type Connector = (address: string, port: number, signal?: AbortSignal) => Promise<net.Socket>;

const CONNECT_TIMEOUT_MS = 30_000;

export const tcpConnect: Connector = (address, port, signal) =>
  new Promise((resolve, reject) => {
    if (!net.isIP(address)) return reject(new Error(`${address} is not an address`));
    const socket = net.connect({ host: address, port, signal });
    const timer = setTimeout(() => socket.destroy(new Error(`connecting to ${address}:${port} timed out`)), CONNECT_TIMEOUT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
