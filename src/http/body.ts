/**
 * JSON request bodies: `application/json` only (else 415), at most `limit` bytes (else 413,
 * decided from Content-Length before reading when it is declared), within the bytes budget shared
 * by all requests (else 429), of a bounded shape (else 400 `too_large`, checked while the bytes
 * stream in, before JSON.parse), valid UTF-8 (else 400), a JSON object at the top.
 */
import type { IncomingMessage } from 'node:http';

import type { ByteReservation } from './byte-budget.js';
import { HttpError } from './errors.js';
import { JsonShapeError, type JsonShapeLimits, JsonShapeScanner } from './json-shape.js';

/**
 * The deepest valid body: the object, `chunks`, a chunk, then metadata up to 32 levels
 * (MAX_METADATA_DEPTH) is 35 levels; 48 leaves room for other routes' shapes.
 */
export const MAX_JSON_DEPTH = 48;
/**
 * A 1,000-chunk batch has 2 to 3 thousand objects and arrays (chunk, embedding, metadata) plus
 * whatever its metadata nests: 100 per chunk on average is far above real use and keeps the
 * parsed tree small (each object or array is a heap object: 4M `{}` held 3.3 GB across 12 requests).
 */
export const MAX_JSON_CONTAINERS = 100_000;
/**
 * A 1,000-chunk batch with 512-d embeddings is about 525,000 values; 2M allows four times that and
 * bounds a body of tiny values (`0,0,0,...` or `"",...`) to a few tens of MB once parsed.
 */
export const MAX_JSON_VALUES = 2_000_000;

const SHAPE_LIMITS: JsonShapeLimits = {
  maxDepth: MAX_JSON_DEPTH,
  maxContainers: MAX_JSON_CONTAINERS,
  maxValues: MAX_JSON_VALUES,
};

// ignoreBOM: a byte-order mark is kept, so JSON.parse refuses it as it refuses any stray character.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export async function readJsonObject(
  req: IncomingMessage,
  limit: number,
  reservation: ByteReservation,
): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new HttpError(415, 'unsupported_media_type', 'the body must be application/json');
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  if (Number.isFinite(declared) && !reservation.ensure(declared)) throw overBudget();
  const raw = await readLimited(req, limit, reservation);
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

function readLimited(req: IncomingMessage, limit: number, reservation: ByteReservation): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const shape = new JsonShapeScanner(SHAPE_LIMITS);
    let size = 0;
    let failed = false;
    const fail = (error: HttpError) => {
      failed = true;
      chunks.length = 0;
      // Keep draining (and discarding) so the answer can still be written on this connection.
      req.resume();
      reject(error);
    };
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) return fail(tooLarge(limit));
      if (!reservation.ensure(size)) return fail(overBudget());
      try {
        shape.feed(chunk);
      } catch (thrown) {
        if (!(thrown instanceof JsonShapeError)) throw thrown;
        return fail(new HttpError(400, 'too_large', thrown.message, { field: 'body' }));
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

function overBudget(): HttpError {
  return new HttpError(
    429,
    'too_many_requests',
    'too many request bytes in flight (MEMVAULT_MAX_BODY_BYTES_IN_FLIGHT); retry later',
    { headers: { 'retry-after': '1', connection: 'close' } },
  );
}
