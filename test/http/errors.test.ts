/**
 * The error contract's mapping for inference and model errors that the daemon tests reach only
 * by timing: the status and code each gets, and fixed messages that do not name the wrong pool.
 */
import t from 'tap';

import { toErrorResponse } from '../../src/http/errors.js';
import { ModelLoadError, RequestAbortedError } from '../../src/inference/errors.js';
import { ModelUnavailableError } from '../../src/models/resolve.js';

t.test('a model that cannot be downloaded is a 503 model_unavailable without Retry-After', async (t) => {
  const response = toErrorResponse(new ModelUnavailableError('RERANK_MODEL: could not download model'));
  t.equal(response.status, 503);
  t.equal(response.body.error.code, 'model_unavailable');
  t.notMatch(response.body.error.message, /RERANK_MODEL|download/, 'a fixed message, not the detail');
  t.same(response.headers, {});
  t.equal(response.unexpected, false);
});

t.test('a model that fails to load in a worker is a 503 model_unavailable too', async (t) => {
  const response = toErrorResponse(new ModelLoadError('rerank', 'the cross-encoder is not loaded'));
  t.equal(response.status, 503);
  t.equal(response.body.error.code, 'model_unavailable');
});

t.test('a request dropped by either pool is a 503 that blames neither (rerank_unavailable)', async (t) => {
  for (const pool of ['rerank', 'embed']) {
    const response = toErrorResponse(new RequestAbortedError(pool, 'aborted'));
    t.equal(response.status, 503, pool);
    t.equal(response.body.error.code, 'rerank_unavailable', pool);
    t.notMatch(response.body.error.message, /rerank|embed/, `${pool}: no pool named`);
    t.equal(response.headers['retry-after'], '1', pool);
  }
});
