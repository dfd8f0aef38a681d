/**
 * Route matching on the raw path: a segment is percent-decoded only once the whole path matched a
 * route, so a malformed id in a path no route takes is that path's 404, not a 400 (the fuzz suite
 * found `DELETE /v1/users/%ED%A0%80/docs/` answered 400 with no operation behind it).
 */
import t from 'tap';

import { HttpError } from '../../src/http/errors.js';
import { Router } from '../../src/http/router.js';

const handle = async () => ({ status: 204, json: null });
const router = new Router([
  { method: 'DELETE', pattern: '/v1/users/:user_id/docs/:doc_id', auth: true, handle },
  { method: 'GET', pattern: '/v1/users/:user_id', auth: true, handle },
]);

function failure(method: string, path: string): { status: number; code: string; field?: string } {
  try {
    router.match(method, path);
  } catch (error) {
    if (error instanceof HttpError) return { status: error.status, code: error.code, field: error.field };
    throw error;
  }
  throw new Error(`${method} ${path} matched`);
}

t.test('an undecodable segment in a path no route takes is a 404', async (t) => {
  t.match(failure('DELETE', '/v1/users/%ED%A0%80/docs/'), { status: 404, code: 'not_found' });
  t.match(failure('DELETE', '/v1/users/%ED%A0%80/other/x'), { status: 404, code: 'not_found' });
});

t.test('an undecodable segment in a matching path is a 400 naming the parameter', async (t) => {
  t.match(failure('DELETE', '/v1/users/%ED%A0%80/docs/d'), { status: 400, field: 'user_id' });
  t.match(failure('DELETE', '/v1/users/u/docs/%FF'), { status: 400, field: 'doc_id' });
});

t.test('a matching path decodes every parameter', async (t) => {
  t.same(router.match('DELETE', '/v1/users/a%2Fb/docs/%E2%82%AC').params, { user_id: 'a/b', doc_id: '€' });
});
