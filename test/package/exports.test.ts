/**
 * The package's public API as a user imports it: `memvault` resolves through package.json
 * `exports["."]` to the built dist/ (npm test builds first).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import t from 'tap';

import { packageRoot } from '../../src/paths.js';

const run = promisify(execFile);

t.test(
  '`import { seal, openSealed, hmacUser, InvalidTag } from "memvault"` works from the built package',
  async (t) => {
    const script = `
    import { seal, openSealed, hmacUser, InvalidTag, chunkAad, indexChunk, queryMemory, withTenant, verifyRlsIsolation, rerank } from 'memvault';
    process.env.MEMORY_ENCRYPTION_KEY = Buffer.alloc(32, 1).toString('base64');
    process.env.MEMORY_TENANT_HMAC_KEY = Buffer.alloc(32, 2).toString('base64');
    const hash = hmacUser('alice');
    const aad = chunkAad(hash, 'row-1', 'text');
    const blob = seal(Buffer.from('hello'), aad);
    let rejected = false;
    try { openSealed(blob, chunkAad(hash, 'row-2', 'text')); } catch (e) { rejected = e instanceof InvalidTag; }
    console.log(JSON.stringify({
      hash, opened: openSealed(blob, aad).toString(), rejected,
      functions: [indexChunk, queryMemory, withTenant, verifyRlsIsolation, rerank].every((f) => typeof f === 'function'),
    }));
  `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: packageRoot,
    });
    const out = JSON.parse(stdout) as { hash: string; opened: string; rejected: boolean; functions: boolean };
    t.match(out.hash, /^[0-9a-f]{64}$/);
    t.equal(out.opened, 'hello');
    t.ok(out.rejected, 'a blob moved to another row throws InvalidTag');
    t.ok(out.functions, 'the use cases, db helpers and reranker are exported too');
  },
);
