/**
 * The catalogue of environment variables (src/variables.ts) against the code and the docs: every
 * name the code reads is catalogued, every catalogued name is explained in its doc, and the daemon
 * names an unknown variable under its prefixes (with the likely intended one) without its value.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import t from 'tap';

import { packageRoot } from '../../src/paths.js';
import { KNOWN_VARIABLES, unknownVariables } from '../../src/variables.js';
import { spawnTestDaemon } from '../helpers/daemon.js';
import { createTestDatabase } from '../helpers/db.js';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

t.test('every variable the code or the tests name is catalogued', async (t) => {
  const named = new Set<string>();
  const scanned = [...sourceFiles(join(packageRoot, 'src')), ...sourceFiles(join(packageRoot, 'test'))];
  // This file names misspelt variables on purpose.
  for (const file of scanned.filter((f) => !f.endsWith('variables.test.ts'))) {
    for (const match of readFileSync(file, 'utf8').matchAll(
      /\b(?:MEMVAULT|MEMORY|RERANK)_[A-Z0-9_]*[A-Z0-9]\b/g,
    )) {
      named.add(match[0]);
    }
  }
  const missing = [...named].filter((name) => !(name in KNOWN_VARIABLES));
  t.same(missing, [], 'named in src/ or test/ but missing from src/variables.ts');
  t.ok(named.size >= 40, `${named.size} names found (the scan works)`);
});

t.test('every catalogued variable is explained in the doc it points to', async (t) => {
  for (const [name, doc] of Object.entries(KNOWN_VARIABLES)) {
    const text = readFileSync(join(packageRoot, doc), 'utf8');
    t.ok(new RegExp(`\\b${name}\\b`).test(text), `${name} in ${doc}`);
  }
});

t.test('unknownVariables: only our prefixes, with a suggestion for a likely typo', async (t) => {
  t.same(unknownVariables({ MEMVAULT_PORT: '1', PATH: '/bin', RERANK_MODEL: 'x' }), []);
  t.same(unknownVariables({ MEMVAULT_PROT: '7420' }), [
    { name: 'MEMVAULT_PROT', suggestion: 'MEMVAULT_PORT' },
  ]);
  t.same(unknownVariables({ RERANK_CIRCUT_MS: '9' }), [
    { name: 'RERANK_CIRCUT_MS', suggestion: 'RERANK_CIRCUIT_MS' },
  ]);
  t.same(
    unknownVariables({ MEMVAULT_SOMETHING_ELSE: 'x' }),
    [{ name: 'MEMVAULT_SOMETHING_ELSE' }],
    'no wild guess',
  );
});

t.test('the daemon logs an unknown variable by name, never its value, and still starts', async (t) => {
  const db = await createTestDatabase(t);
  const secretLooking = 'do-not-print-this-value-0123456789';
  const daemon = await spawnTestDaemon(t, { databaseUrl: db.appUrl, env: { MEMVAULT_PROT: secretLooking } });
  t.equal((await daemon.request('GET', '/healthz', { token: null })).status, 200);
  t.match(
    daemon.output(),
    /"variable":"MEMVAULT_PROT","did_you_mean":"MEMVAULT_PORT"[^\n]*unknown environment variable ignored/,
  );
  t.notOk(daemon.output().includes(secretLooking), 'the value is not logged');
  daemon.child.kill('SIGTERM');
  t.equal(await daemon.exited, 0);
});
