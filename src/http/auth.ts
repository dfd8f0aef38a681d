/**
 * Bearer-token authentication for every /v1 route. Both the expected and the presented token are
 * hashed with SHA-256 first, so `timingSafeEqual` compares equal-length buffers and the time taken
 * reveals neither the token's length nor how much of a guess was right.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

import { HttpError } from './errors.js';

export type TokenCheck = (authorization: string | undefined) => void;

export function bearerTokenCheck(token: string): TokenCheck {
  const expected = digest(token);
  return (authorization) => {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '');
    // Always compare, even with nothing presented, so a missing header costs the same time.
    const presented = digest(match?.[1] ?? '');
    const ok = timingSafeEqual(presented, expected) && match !== null;
    if (!ok) {
      throw new HttpError(401, 'unauthorized', 'a valid bearer token is required', {
        headers: { 'www-authenticate': 'Bearer realm="memvault"' },
      });
    }
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
