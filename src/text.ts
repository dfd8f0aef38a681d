/**
 * The rule for free text any layer accepts (chunk text, a query, rerank candidates), kept below
 * the layers so that memory/ and rerank/ share it without importing each other. Pure.
 */
import { ValidationError } from './errors.js';

/** Largest text, in UTF-8 bytes (a sealed chunk adds 33 bytes). */
export const MAX_TEXT_BYTES = 64 * 1024;

/** A UTF-16 surrogate on its own: JSON can carry it, UTF-8 cannot. */
export const LONE_SURROGATE = /\p{Surrogate}/u;

/** A string with some non-whitespace, at most MAX_TEXT_BYTES of UTF-8, well-formed Unicode. */
export function validateText(value: unknown, field = 'text'): string {
  if (typeof value !== 'string') throw new ValidationError(field, 'must be a string');
  if (value.trim().length === 0) throw new ValidationError(field, 'must not be empty or only whitespace');
  // Cheap bound first: every UTF-16 unit is at least one UTF-8 byte.
  if (value.length > MAX_TEXT_BYTES || Buffer.byteLength(value, 'utf8') > MAX_TEXT_BYTES) {
    throw new ValidationError(field, `must be at most ${MAX_TEXT_BYTES} bytes of UTF-8`, 'too_large');
  }
  if (LONE_SURROGATE.test(value)) throw new ValidationError(field, 'must be well-formed Unicode');
  return value;
}
