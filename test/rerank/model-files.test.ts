import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import { locateModelFiles, ModelFilesError } from '../../src/models/model-files.js';
import { ModelUnavailableError, resolveModel } from '../../src/models/resolve.js';
import { readRerankConfig } from '../../src/rerank/config.js';
import { CrossEncoder } from '../../src/rerank/cross-encoder.js';
import { ensureFixtureModel, useLiteDir } from '../helpers/models.js';

t.test('a model folder without its files is refused, naming what is missing', async (t) => {
  const empty = await mkdtemp(path.join(os.tmpdir(), 'memvault-model-'));
  t.teardown(() => rm(empty, { recursive: true, force: true }));
  t.throws(() => locateModelFiles(empty), ModelFilesError);
  t.throws(() => locateModelFiles(path.join(empty, 'nope')), ModelFilesError);
  const fixture = await ensureFixtureModel();
  t.equal(locateModelFiles(fixture).modelPath, path.join(fixture, 'onnx', 'model.onnx'));
  t.throws(
    () => locateModelFiles(fixture, { quantized: true }),
    ModelFilesError,
    'no model_quantized.onnx in the fixture',
  );
});

t.test('a model id that cannot be downloaded says how to supply a local folder', async (t) => {
  const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'memvault-cache-'));
  t.teardown(() => rm(cacheDir, { recursive: true, force: true }));
  const error = await resolveModel('cross-encoder/ms-marco-TinyBERT-L-2-v2', {
    cacheDir,
    endpoint: 'http://127.0.0.1:1',
    timeoutMs: 500,
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(error instanceof ModelUnavailableError);
  t.match((error as Error).message, /RERANK_MODEL/);
  t.match((error as Error).message, /local path|folder's path/);
  t.match((error as Error).message, /memvault models fixture/);
});

t.test('an ONNX model that is not a cross-encoder is refused before serving', async (t) => {
  const dir = useLiteDir();
  const encoder = new CrossEncoder({
    ...readRerankConfig({ RERANK_DEVICE: 'cpu', RERANK_MODEL: dir }),
    poolSize: 1,
    threads: 1,
  });
  t.teardown(() => encoder.close());
  // USE-lite has no config.json: refused by the folder check already.
  await t.rejects(encoder.load(), { code: 'model_files_invalid' });
  t.equal(encoder.state.state, 'failed');
});

t.test('the signature check rejects a sentence encoder graph', async (t) => {
  const ort = await import('onnxruntime-node');
  const { checkCrossEncoderSignature } = await import('../../src/rerank/signature.js');
  const session = await ort.InferenceSession.create(path.join(useLiteDir(), 'model.onnx'));
  t.teardown(() => session.release());
  t.throws(() => checkCrossEncoderSignature(session), /not a BERT cross-encoder/);
  const fixture = await ort.InferenceSession.create(
    path.join(await ensureFixtureModel(), 'onnx', 'model.onnx'),
  );
  t.teardown(() => fixture.release());
  t.same(checkCrossEncoderSignature(fixture), {
    inputs: ['input_ids', 'attention_mask', 'token_type_ids'],
    output: 'logits',
  });
});
