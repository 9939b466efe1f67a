import net from 'node:net';

/** Opens a TCP connection to an address that has already been checked (no name lookup here). */
export type Connector = (address: string, port: number, signal?: AbortSignal) => Promise<net.Socket>;

const CONNECT_TIMEOUT_MS = 30_000;

const aborted = (signal: AbortSignal) => Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR', cause: signal.reason });

export const tcpConnect: Connector = (address, port, signal) =>
  new Promise((resolve, reject) => {
    if (!net.isIP(address)) return reject(new Error(`${address} is not an address`));
    if (signal?.aborted) return reject(aborted(signal));
    // The signal is watched here rather than handed to net.connect, which never lets go of its
    // listener: a signal that outlives many connections (an MCP session's) would collect them.
    const socket = net.connect({ host: address, port });
    const onAbort = () => socket.destroy(aborted(signal!));
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('close', () => signal?.removeEventListener('abort', onAbort));
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
