/**
 * `memvault start` (what `npm start` runs): the embedded database and the daemon with a working
 * configuration, then a curl example that indexes and queries. With DATABASE_URL set it behaves
 * like `serve` plus the example.
 */
import type { StartedFromEnv } from '../../daemon.js';
import { parseCommand } from '../args.js';
import { startWithEmbeddedDefaults } from './embedded-defaults.js';
import { runUntilSignalled } from './serve-lifecycle.js';

export const summary = 'start the embedded database and the daemon, and print a curl example';

export async function run(args: string[]): Promise<number> {
  parseCommand(args, {
    usage:
      'usage: memvault start   (the embedded database and the daemon; configuration from the environment)',
    options: {},
  });
  const outcome = await startWithEmbeddedDefaults();
  if (typeof outcome === 'number') return outcome;
  const { started, notes } = outcome;
  console.log(banner(started, notes));
  return runUntilSignalled(started.daemon, started.settings.shutdownTimeoutMs);
}

function banner(started: StartedFromEnv, notes: string[]): string {
  const { daemon, embedded, secretsFile } = started;
  const url = daemon.url;
  const serverEmbeds = started.settings.embed !== undefined;
  // The token is read from the secrets file by the shell, so it never appears in this output.
  const tokenLine =
    secretsFile && !process.env.MEMVAULT_API_TOKEN
      ? `export MEMVAULT_API_TOKEN="$(sed -n 's/^MEMVAULT_API_TOKEN=//p' '${secretsFile}')"`
      : '# MEMVAULT_API_TOKEN is already set in your environment';
  const embeddingArg = serverEmbeds ? '' : ',"embedding":'.concat('\'"$EMB"\'');
  const lines = [
    '',
    `memvault is listening on ${url}`,
    embedded
      ? `  database: embedded PostgreSQL (${embedded.created ? 'created now' : 'existing'}), schema dimension ${daemon.embeddingDim}`
      : '  database: DATABASE_URL',
    ...(secretsFile
      ? [
          `  secrets:  ${secretsFile} (mode 0600${started.generatedSecrets.length ? `; generated now: ${started.generatedSecrets.join(', ')}` : ''})`,
        ]
      : []),
    ...notes.map((note) => `  ${note}`),
    '',
    'Try it (another terminal):',
    '',
    `  ${tokenLine}`,
    ...(serverEmbeds
      ? []
      : [
          `  EMB=$(node -e 'const v=Array.from({length:${daemon.embeddingDim}},(_,i)=>Math.sin(i+1));console.log(JSON.stringify(v))')`,
        ]),
    `  curl -s -X POST ${url}/v1/chunks -H "Authorization: Bearer $MEMVAULT_API_TOKEN" -H 'Content-Type: application/json' \\`,
    `    -d '{"user_id":"alice","doc_id":"prefs","text":"Alice drinks green tea every morning"${embeddingArg}}'`,
    `  curl -s -X POST ${url}/v1/query -H "Authorization: Bearer $MEMVAULT_API_TOKEN" -H 'Content-Type: application/json' \\`,
    `    -d '{"user_id":"alice","query":"What does Alice drink?","k":3${embeddingArg}}'`,
    '',
    'Stop with Ctrl-C (graceful: in-flight requests finish first). `memvault demo` shows tenant isolation.',
    '',
  ];
  return lines.join('\n');
}
