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
import { parseCommand, subcommand } from '../args.js';

export const summary = 'write the synthetic test cross-encoder (fixture) or check a model folder';

const FIXTURE_USAGE = 'usage: memvault models fixture <dir> [--tokenizer <dir>] [--force]';
const CHECK_USAGE = 'usage: memvault models check <dir|hf-model-id>';
const USAGE = `${FIXTURE_USAGE}\n       ${CHECK_USAGE.slice('usage: '.length)}`;

export async function run(args: string[]): Promise<number> {
  const sub = subcommand(args, ['fixture', 'check'], USAGE);
  return sub === 'fixture' ? writeFixture(args.slice(1)) : checkModel(args.slice(1));
}

async function writeFixture(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {
    usage: FIXTURE_USAGE,
    options: { tokenizer: { type: 'string' }, force: { type: 'boolean' } },
    positionals: { min: 1, max: 1, names: ['the folder to write (<dir>)'] },
  });
  const target = positionals[0]!;
  const dir = path.resolve(target);
  if (existsSync(dir)) {
    if (!values.force) throw new ValidationError('dir', `${dir} exists (use --force to replace it)`);
    await rm(dir, { recursive: true, force: true });
  }
  await writeDirAtomically(dir, (tmp) => writeFixtureFiles(tmp, { tokenizerDir: values.tokenizer }));
  console.log(
    `wrote synthetic TinyBERT-L-2 cross-encoder to ${dir} (random weights: serving tests only, not ranking)`,
  );
  return 0;
}

async function checkModel(args: string[]): Promise<number> {
  const { positionals } = parseCommand(args, {
    usage: CHECK_USAGE,
    options: {},
    positionals: { min: 1, max: 1, names: ['the model (<dir|hf-model-id>)'] },
  });
  const target = positionals[0]!;
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
