#!/usr/bin/env node
import { loadConfig } from '../config.js';
import { startPaddock } from '../server.js';

const USAGE = `usage: paddock serve

Starts the Paddock server. Configuration comes from the environment:
  PORT (4000), HOST (127.0.0.1), PADDOCK_DATA_DIR (./.paddock), PADDOCK_API_KEYS,
  DATABASE_URL, ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL, PADDOCK_LOG_LEVEL (info)`;

async function serve(): Promise<void> {
  const config = await loadConfig();
  const paddock = await startPaddock(config);
  if (config.generatedKey) {
    process.stderr.write(`\nPaddock generated an API key (kept in ${config.dataDir}/api-key):\n\n  ${config.generatedKey}\n\n`);
  } else if (!process.env.PADDOCK_API_KEYS) {
    process.stderr.write(`\nPaddock API key: see ${config.dataDir}/api-key\n\n`);
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

const [cmd] = process.argv.slice(2);
if (cmd === 'serve' || cmd === undefined) {
  serve().catch((err) => {
    process.stderr.write(`paddock: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
} else {
  process.stderr.write(`${USAGE}\n`);
  process.exit(cmd === '--help' || cmd === '-h' ? 0 : 2);
}
