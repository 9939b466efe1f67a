#!/usr/bin/env node
import { loadConfig } from '../config.js';
import { reportMemoryOnSignal } from '../diagnostics.js';
import { startPaddock } from '../server.js';
import { rotateMasterKey } from '../vault/rotate.js';

const USAGE = `usage: paddock serve | paddock rotate-master-key

Starts the Paddock server. Configuration comes from the environment:
  PORT (4000), HOST (127.0.0.1), PADDOCK_DATA_DIR (./.paddock), PADDOCK_API_KEYS,
  DATABASE_URL, ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL, PADDOCK_LOG_LEVEL (info),
  PADDOCK_MASTER_KEY (else <data dir>/master.key), PADDOCK_MAX_FILE_BYTES (500 MB);
  every variable is in the README's configuration table.

rotate-master-key re-encrypts every stored secret under a new master key (stop the server
first). With a key file it generates the key and replaces the file; with PADDOCK_MASTER_KEY
it takes the new key from PADDOCK_NEW_MASTER_KEY.`;

async function serve(): Promise<void> {
  const config = await loadConfig(process.env);
  const paddock = await startPaddock(config);
  reportMemoryOnSignal(paddock.ctx);
  const { dataDir } = config.storage;
  if (config.auth.source === 'generated') {
    process.stderr.write(`\nPaddock generated an API key (kept in ${dataDir}/api-key):\n\n  ${config.auth.apiKeys[0].reveal()}\n\n`);
  } else if (config.auth.source === 'file') {
    process.stderr.write(`\nPaddock API key: see ${dataDir}/api-key\n\n`);
  }
  process.stderr.write(`Point an SDK at it: ANTHROPIC_BASE_URL=${paddock.url}\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    paddock.ctx.log.info({ signal }, 'shutting down');
    paddock.close().then(
      () => process.exit(0),
      (err) => {
        paddock.ctx.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function rotate(): Promise<void> {
  const r = await rotateMasterKey(await loadConfig(process.env));
  process.stdout.write(`Re-encrypted ${r.resealed} secrets under master key ${r.keyId}.\n`);
  process.stdout.write(r.keyFile ? `The new key is in ${r.keyFile}.\n` : 'Set PADDOCK_MASTER_KEY to the new key before starting Paddock.\n');
}

const [cmd] = process.argv.slice(2);
if (cmd === 'rotate-master-key') {
  rotate().catch((err) => {
    process.stderr.write(`paddock: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
} else if (cmd === 'serve' || cmd === undefined) {
  serve().catch((err) => {
    process.stderr.write(`paddock: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
} else {
  process.stderr.write(`${USAGE}\n`);
  process.exit(cmd === '--help' || cmd === '-h' ? 0 : 2);
}
