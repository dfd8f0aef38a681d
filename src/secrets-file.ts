/**
 * MEMVAULT_HOME/secrets.env: the embedded default's generated secrets (keys, API token, the
 * embedded cluster's role passwords), one `NAME=value` a line, mode 0600, in systemd
 * EnvironmentFile format. Shared by the daemon's configuration (src/config.ts) and the embedded
 * cluster (src/db/cluster.ts), which each add their own names and keep the others'.
 */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { ConfigError } from './errors.js';

export function secretsFile(home: string): string {
  return join(home, 'secrets.env');
}

/** The file's values; `{}` when it does not exist. */
export async function readSecretsFile(file: string): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (thrown) {
    if ((thrown as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigError('MEMVAULT_HOME', `cannot read ${file}`);
  }
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (match) out[match[1]!] = match[2]!.trim();
  }
  return out;
}

/** Writes `values` whole (the caller read the file first and adds to what it found). */
export async function writeSecretsFile(file: string, values: Record<string, string>): Promise<void> {
  const lines = [
    '# memvault secrets, generated for the embedded database. Keep this file private and backed up:',
    '# without MEMORY_ENCRYPTION_KEY the stored memories cannot be read. systemd EnvironmentFile format.',
    ...Object.entries(values).map(([name, value]) => `${name}=${value}`),
    '',
  ];
  await writeFile(file, lines.join('\n'), { mode: 0o600 });
  await chmod(file, 0o600); // mode applies only when the file is created
}
