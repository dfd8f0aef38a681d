/**
 * The layering of docs/ARCHITECTURE.md is enforced by `npm run lint` (eslint.config.js): a
 * wrong-way import fails it. Each case lints a deliberate one as if it were a file of that layer.
 */
import { ESLint } from 'eslint';
import t from 'tap';

import { packageRoot } from '../../src/paths.js';

const eslint = new ESLint({ cwd: packageRoot });

async function restrictedImports(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

const wrongWay: Array<[string, string, RegExp]> = [
  ['src/rerank/x.ts', "import { validateId } from '../memory/validate.js';", /src\/rerank may not import/],
  ['src/embed/x.ts', "import { readDaemonSettings } from '../config.js';", /src\/embed may not import/],
  ['src/crypto/x.ts', "import { createPool } from '../db/pool.js';", /src\/crypto may not import/],
  ['src/db/x.ts', "import { TenantKeyStore } from '../keys/tenant-key-store.js';", /src\/db may not import/],
  ['src/memory/x.ts', "import { createServer } from '../http/server.js';", /src\/memory may not import/],
  ['src/keys/x.ts', "import type pg from 'pg';", /Only src\/db imports pg/],
  ['src/cli/commands/x.ts', "import pg from 'pg';", /Only src\/db imports pg/],
  ['src/keys/x.ts', "import { call } from '../db/procedures.js';", /SQL text lives in src\/db/],
  ['src/cli/commands/x.ts', "import { call } from '../../db/procedures.js';", /SQL text lives in src\/db/],
  [
    'src/memory/x.ts',
    "import { TenantKeyStore } from '../keys/tenant-key-store.js';",
    /src\/memory may not import/,
  ],
  ['src/crypto/x.ts', "import { readFileSync } from 'node:fs';", /src\/crypto does no I\/O/],
  ['src/models/x.ts', "import { rerank } from '../rerank/index.js';", /src\/models may not import/],
  ['src/api/x.ts', "import { route } from '../http/router.js';", /src\/api may not import/],
];

t.test('a wrong-way import fails lint, naming the rule it breaks', async (t) => {
  for (const [file, code, message] of wrongWay) {
    const messages = await restrictedImports(file, `${code}\n`);
    t.equal(messages.length, 1, `${file}: ${code}`);
    t.match(messages[0], message);
  }
});

t.test('crypto reads no environment', async (t) => {
  const [result] = await eslint.lintText('export const key = process.env.MEMORY_ENCRYPTION_KEY;\n', {
    filePath: 'src/crypto/x.ts',
  });
  const messages = result!.messages.filter((m) => m.ruleId === 'no-restricted-globals');
  t.equal(messages.length, 1);
  t.match(messages[0]!.message, /src\/crypto reads no environment/);
  const [db] = await eslint.lintText('export const home = process.env.HOME;\n', { filePath: 'src/db/x.ts' });
  t.same(
    db!.messages.filter((m) => m.ruleId === 'no-restricted-globals'),
    [],
    'other layers may',
  );
});

t.test('the same imports pointing down the layers pass', async (t) => {
  t.same(await restrictedImports('src/memory/x.ts', "import { validateId } from './validate.js';\n"), []);
  t.same(await restrictedImports('src/db/x.ts', "import pg from 'pg';\n"), []);
  t.same(await restrictedImports('src/keys/x.ts', "import type { Pool } from '../db/pool.js';\n"), []);
  t.same(await restrictedImports('src/http/x.ts', "import { indexChunks } from '../memory/index.js';\n"), []);
  t.same(
    await restrictedImports('src/keys/x.ts', "import { getSettings } from '../db/procedures.js';\n"),
    [],
  );
  t.same(await restrictedImports('src/db/x.ts', "import { call } from './procedures.js';\n"), []);
  t.same(await restrictedImports('src/crypto/x.ts', "import { createHmac } from 'node:crypto';\n"), []);
});
