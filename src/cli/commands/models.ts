/**
 * `memvault models fixture <dir> [--tokenizer <dir>] [--force]`: writes the synthetic TinyBERT-L-2
 * cross-encoder (see src/models/fixture.ts). `memvault models check <dir|hf-id>`: resolves the
 * model (downloading a model id into the cache) and loads it the way the daemon would.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';

import { ValidationError } from '../../errors.js';
import { writeDirAtomically } from '../../models/atomic-dir.js';
import { writeFixtureFiles } from '../../models/fixture.js';

export const summary = 'write the synthetic test cross-encoder (fixture) or check a model folder';

function option(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
}

export async function run(args: string[]): Promise<number> {
  const [sub, target] = args;
  if (sub === 'fixture') {
    if (!target)
      throw new ValidationError('dir', 'usage: memvault models fixture <dir> [--tokenizer <dir>] [--force]');
    const dir = path.resolve(target);
    if (existsSync(dir)) {
      if (!args.includes('--force'))
        throw new ValidationError('dir', `${dir} exists (use --force to replace it)`);
      await rm(dir, { recursive: true, force: true });
    }
    await writeDirAtomically(dir, (tmp) =>
      writeFixtureFiles(tmp, { tokenizerDir: option(args, '--tokenizer') }),
    );
    console.log(
      `wrote synthetic TinyBERT-L-2 cross-encoder to ${dir} (random weights: serving tests only, not ranking)`,
    );
    return 0;
  }
  if (sub === 'check') {
    if (!target) throw new ValidationError('model', 'usage: memvault models check <dir|hf-model-id>');
    const { CrossEncoder } = await import('../../rerank/cross-encoder.js');
    const { readRerankConfig } = await import('../../rerank/config.js');
    const encoder = new CrossEncoder(readRerankConfig({ ...process.env, RERANK_MODEL: target }));
    try {
      const info = await encoder.load();
      const [logit] = await encoder.score([{ query: 'what is a cat', passage: 'a cat is an animal' }]);
      console.log(JSON.stringify({ ...info, sampleLogit: logit }, null, 2));
    } finally {
      await encoder.close();
    }
    return 0;
  }
  console.error(
    'usage: memvault models fixture <dir> [--tokenizer <dir>] [--force] | memvault models check <dir|hf-id>',
  );
  return 2;
}
