/** Request ids: a caller's X-Request-Id is kept when it is a plain token, else one is made. */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const SAFE_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  // Only a conservative shape is echoed into logs and headers (no log or header injection).
  return typeof given === 'string' && SAFE_ID.test(given) ? given : randomUUID();
}
