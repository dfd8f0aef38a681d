import { readFileSync } from 'node:fs';
import path from 'node:path';

import t from 'tap';

import { closeEmbedder, createEmbedder, getEmbedder } from '../../src/embed/index.js';
import { ConfigError, ValidationError } from '../../src/errors.js';
import { loadTokenizer } from '../../src/models/tokenizer.js';
import { useLiteDir } from '../helpers/models.js';

const dir = useLiteDir();

t.test("getEmbedder reads MEMVAULT_EMBED_* with the daemon's rules, before loading anything", async (t) => {
  t.teardown(closeEmbedder);
  // The embedder is process-wide: closeEmbedder() forgets it, so the next call reads env again.
  t.equal(await getEmbedder({}), undefined, 'unset: no embedder');
  await closeEmbedder();
  t.equal(await getEmbedder({ MEMVAULT_EMBED_MODEL: '  ' }), undefined, 'blank is unset, as for the daemon');
  await closeEmbedder();
  const model = dir;
  // The daemon caps threads at 256; getEmbedder used to accept any number and start the workers.
  const tooMany = await getEmbedder({ MEMVAULT_EMBED_MODEL: model, MEMVAULT_EMBED_THREADS: '300' }).then(
    () => 'loaded',
    (error: unknown) => error,
  );
  t.type(tooMany, ConfigError);
  t.match(tooMany, { variable: 'MEMVAULT_EMBED_THREADS' });
  const badDevice = await getEmbedder({ MEMVAULT_EMBED_MODEL: model, MEMVAULT_EMBED_DEVICE: 'tpu' }).catch(
    (error: unknown) => error,
  );
  t.match(badDevice, { variable: 'MEMVAULT_EMBED_DEVICE' });
});
const ref = JSON.parse(readFileSync(path.join(dir, 'reference_outputs.json'), 'utf8')) as {
  tokenizer_vectors: { text: string; ids: number[] }[];
  embeddings: { text: string; embedding: number[] }[];
};

t.test("tokenizer.json reproduces the original tokenizer's test vectors", async (t) => {
  const tokenizer = await loadTokenizer(path.join(dir, 'tokenizer.json'));
  const same = ref.tokenizer_vectors.filter((v) => {
    const ids: number[] = tokenizer.encode(v.text, { add_special_tokens: false }).ids;
    return ids.length === v.ids.length && ids.every((x, i) => x === v.ids[i]);
  }).length;
  t.ok(ref.tokenizer_vectors.length > 0, `${ref.tokenizer_vectors.length} reference tokenizations`);
  t.equal(same, ref.tokenizer_vectors.length);
});

t.test('embeds like the TF.js reference (1e-4), 512-d and unit length', async (t) => {
  const embedder = await createEmbedder(dir, { device: 'cpu', threads: 1 });
  t.teardown(() => embedder.close());
  t.equal(embedder.dimension, 512);
  const out = await embedder.embed(ref.embeddings.map((e) => e.text));
  ref.embeddings.forEach((e, i) => {
    const row = out[i]!;
    const maxDiff = Math.max(...e.embedding.map((x, k) => Math.abs(x - row[k]!)));
    t.ok(maxDiff < 1e-4, `reference ${i}: max diff ${maxDiff.toExponential(2)}`);
    t.ok(Math.abs(Math.hypot(...row) - 1) < 1e-3, 'L2-normalised');
  });
  const alone = await embedder.embed([ref.embeddings[3]!.text]);
  t.ok(
    Math.max(...alone[0]!.map((x, k) => Math.abs(x - out[3]![k]!))) < 1e-4,
    'same vector alone and in a padded batch',
  );
  const [empty, text] = await embedder.embed(['', 'hello']);
  t.equal(empty?.length, 512, 'an empty text still gets a vector');
  t.equal(text?.length, 512);
  t.throws(() => embedder.embed([1 as unknown as string]), ValidationError);
});
