/**
 * `memvault reindex lexical [--tenant USER_ID] [--batch N]`: indexes chunks missing from the
 * lexical index or indexed stale (older analyzer, replaced data key). Resumable and idempotent;
 * safe beside a running daemon (src/keys/lexical-reindex.ts).
 */
import { parseArgs } from 'node:util';

import { hmacUser, KeyRing } from '../../crypto/index.js';
import { lexicalCoverage } from '../../db/lexical.js';
import { getSettings } from '../../db/procedures.js';
import { ValidationError } from '../../errors.js';
import { jobKeyRing } from '../../keys/active-ring.js';
import { maintenancePool } from '../../keys/connection.js';
import { reindexLexical } from '../../keys/lexical-reindex.js';
import { ANALYZER_VERSION } from '../../lexical/index.js';
import { progressBar } from '../progress.js';

export const summary =
  'lexical [--tenant USER_ID] [--batch N]: index chunks missing from the lexical index or stale';

const USAGE = 'usage: memvault reindex lexical [--tenant USER_ID] [--batch N]';

export async function run(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: { tenant: { type: 'string' }, batch: { type: 'string' } },
    });
  } catch (thrown) {
    console.error(`${(thrown as Error).message}\n${USAGE}`);
    return 2;
  }
  if (parsed.positionals.length !== 1 || parsed.positionals[0] !== 'lexical') {
    console.error(USAGE);
    return 2;
  }
  const batch = parsed.values.batch === undefined ? undefined : Number(parsed.values.batch);
  if (batch !== undefined && (!Number.isInteger(batch) || batch < 1 || batch > 5000)) {
    throw new ValidationError('--batch', 'must be an integer from 1 to 5000');
  }
  const pool = await maintenancePool();
  try {
    const ring = jobKeyRing(KeyRing.fromEnv(process.env), await getSettings(pool));
    const tenant = parsed.values.tenant === undefined ? undefined : hmacUser(parsed.values.tenant);
    const before = await lexicalCoverage(pool, ANALYZER_VERSION);
    const done = await reindexLexical(pool, ring, {
      tenant,
      batchSize: batch,
      // The whole table's backlog; for one tenant, an upper bound.
      total: before.missing + before.stale,
      onProgress: progressBar('reindex lexical'),
    });
    const after = await lexicalCoverage(pool, ANALYZER_VERSION);
    console.log(
      `indexed ${done} chunk(s); ${after.current} of ${after.chunks} chunks are current, ${after.missing} missing, ${after.stale} stale`,
    );
    return 0;
  } finally {
    await pool.end();
  }
}
