/**
 * The model cache's one answer to "is this model id here already?" (cachedModelDir), shared by
 * the model resolver and `memvault start`'s decision to leave reranking on, per variant.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { embeddedDefaults } from '../../src/cli/commands/embedded-defaults.js';
import { cachedModelDir, resolveModel } from '../../src/models/resolve.js';
import { DEFAULT_RERANK_MODEL } from '../../src/rerank/index.js';

const ID = DEFAULT_RERANK_MODEL;

function cacheWith(folders: Record<string, string[]>): string {
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'memvault-cache-'));
  t.teardown(() => rmSync(cacheDir, { recursive: true, force: true }));
  for (const [folder, files] of Object.entries(folders)) {
    for (const file of files) {
      mkdirSync(path.dirname(path.join(cacheDir, folder, file)), { recursive: true });
      writeFileSync(path.join(cacheDir, folder, file), '{}');
    }
  }
  return cacheDir;
}

const base = `${ID.replace('/', '--')}`;
const baseFiles = ['config.json', 'tokenizer.json', 'onnx/model.onnx'];

t.test('an empty cache holds neither variant', async (t) => {
  const cacheDir = cacheWith({});
  t.equal(cachedModelDir(ID, { cacheDir }), undefined);
  t.equal(cachedModelDir(ID, { cacheDir, quantized: true }), undefined);
});

t.test('the base download serves the base variant, not the quantized one it lacks', async (t) => {
  const cacheDir = cacheWith({ [base]: baseFiles });
  t.equal(cachedModelDir(ID, { cacheDir }), path.join(cacheDir, base));
  t.equal(cachedModelDir(ID, { cacheDir, quantized: true }), undefined, 'quantized would be downloaded');
});

t.test('the quantized variant is found in the base folder or in its own', async (t) => {
  const inBase = cacheWith({ [base]: [...baseFiles, 'onnx/model_quantized.onnx'] });
  t.equal(cachedModelDir(ID, { cacheDir: inBase, quantized: true }), path.join(inBase, base));
  const own = cacheWith({ [base]: baseFiles, [`${base}--quantized`]: ['tokenizer.json'] });
  t.equal(cachedModelDir(ID, { cacheDir: own, quantized: true }), path.join(own, `${base}--quantized`));
});

t.test('resolveModel uses the cached folder cachedModelDir names, without downloading', async (t) => {
  const cacheDir = cacheWith({ [`${base}--quantized`]: ['tokenizer.json', 'model_quantized.onnx'] });
  const files = await resolveModel(ID, {
    cacheDir,
    quantized: true,
    fetchImpl: () => Promise.reject(new Error('no download expected')),
  });
  t.equal(files.dir, path.join(cacheDir, `${base}--quantized`));
});

t.test(
  'start leaves reranking on only when the cache holds the variant RERANK_QUANTIZED asks for',
  async (t) => {
    const cacheDir = cacheWith({ [base]: baseFiles });
    const env = { MEMVAULT_MODEL_CACHE: cacheDir, MEMVAULT_EMBED_MODEL: 'set' };
    t.same(embeddedDefaults(env).overrides, {}, 'base cached: reranking stays on');
    t.same(
      embeddedDefaults({ ...env, RERANK_QUANTIZED: 'true' }).overrides,
      { RERANK_ENABLED: 'false' },
      'only the base cached: quantized would download, so reranking starts off',
    );
    t.throws(() => embeddedDefaults({ ...env, RERANK_QUANTIZED: 'maybe' }), { code: 'config_error' });
  },
);
