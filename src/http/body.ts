/**
 * JSON request bodies: `application/json` only (else 415), at most `limit` bytes (else 413,
 * decided from Content-Length before reading when it is declared), valid UTF-8 (else 400), a JSON
 * object at the top.
 */
import type { IncomingMessage } from 'node:http';

import { HttpError } from './errors.js';

// ignoreBOM: a byte-order mark is kept, so JSON.parse refuses it as it refuses any stray character.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export async function readJsonObject(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new HttpError(415, 'unsupported_media_type', 'the body must be application/json');
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const raw = await readLimited(req, limit);
  let text: string;
  try {
    // Invalid UTF-8 is rejected, not replaced with U+FFFD: two different byte strings must never
    // decode to one user id (validate.ts: "rejected, not coerced").
    text = strictUtf8.decode(raw);
  } catch {
    throw new HttpError(400, 'invalid_json', 'the body is not valid UTF-8', { field: 'body' });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'invalid_json', 'the body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new HttpError(400, 'invalid_body', 'the body must be a JSON object', { field: 'body' });
  }
  return parsed as Record<string, unknown>;
}

function readLimited(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        // Keep draining (and discarding) so the 413 can still be written on this connection.
        req.resume();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks, size));
    });
    req.on('error', (error) => {
      if (!failed) {
        failed = true;
        reject(new HttpError(400, 'invalid_body', `the body could not be read (${error.name})`));
      }
    });
  });
}

function tooLarge(limit: number): HttpError {
  return new HttpError(
    413,
    'payload_too_large',
    `the body exceeds ${limit} bytes (MEMVAULT_MAX_BODY_BYTES)`,
    {
      headers: { connection: 'close' },
    },
  );
}
