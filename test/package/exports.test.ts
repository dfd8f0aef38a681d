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
    import { configureCrypto, seal, openSealed, hmacUser, InvalidTag, chunkAad, indexChunk, queryMemory, withTenant, verifyRlsIsolation, rerank } from 'memvault';
    process.env.MEMORY_ENCRYPTION_KEY = Buffer.alloc(32, 1).toString('base64');
    process.env.MEMORY_TENANT_HMAC_KEY = Buffer.alloc(32, 2).toString('base64');
    configureCrypto(process.env);
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

t.test(
  '`import { MemvaultClient } from "memvault/client"` loads the client alone (no server modules)',
  async (t) => {
    const script = `
    import { MemvaultClient, MemvaultApiError, MemvaultClientError } from 'memvault/client';
    const client = new MemvaultClient({ baseUrl: 'http://127.0.0.1:1', token: 't', retries: 0 });
    const error = await client.health().catch((e) => e);
    console.log(JSON.stringify({
      classes: [MemvaultClient, MemvaultApiError, MemvaultClientError].every((c) => typeof c === 'function'),
      code: error.code,
      methods: ['createChunk', 'createChunks', 'queryMemories', 'forgetDoc', 'forgetUser', 'rerank'].every((m) => typeof client[m] === 'function'),
    }));
  `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: packageRoot,
    });
    const out = JSON.parse(stdout) as { classes: boolean; code: string; methods: boolean };
    t.ok(out.classes, 'the client and its errors are exported');
    t.ok(out.methods, 'with its methods');
    t.equal(out.code, 'network', 'a refused connection is a MemvaultClientError(network)');
    // What the client's modules import: node: built-ins and each other, nothing else.
    const { readdir, readFile } = await import('node:fs/promises');
    const dir = `${packageRoot}/dist/client`;
    for (const file of (await readdir(dir)).filter((f) => f.endsWith('.js'))) {
      const source = await readFile(`${dir}/${file}`, 'utf8');
      const specifiers = [...source.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1]!);
      t.same(
        specifiers.filter((s) => !s.startsWith('node:') && !s.startsWith('./')),
        [],
        `${file} imports only node: modules and its siblings`,
      );
    }
  },
);
