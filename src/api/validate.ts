/**
 * Request validation against the API's JSON Schemas (src/api/schema.ts) with ajv. A failure becomes
 * the API's ValidationError: the field in the API's notation (`chunks[3].text`), the message from
 * the schema's `x-messages`, `too_large` for `maxLength` / `maxItems`. When several fields are
 * wrong, the one reported is the first in the order the schema lists them (the order a reader
 * scans the request), so the answer does not depend on ajv's internal keyword order.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

import { ValidationError } from '../errors.js';
import type { Schema } from './schema.js';

const ajv = new Ajv({
  allErrors: true,
  // Errors carry their schema, for its `x-messages`.
  verbose: true,
  // `type: ['string', 'null']` for optional fields, where the API reads null as absent.
  allowUnionTypes: true,
  strict: true,
  // `format: uuid` documents responses; requests carry no formatted strings.
  validateFormats: false,
});
ajv.addKeyword({ keyword: 'x-messages', schemaType: 'object' });

const compiled = new WeakMap<Schema, ValidateFunction>();

/** Throws the ValidationError for the first invalid field of `value`, or returns it unchanged. */
export function assertMatches<T>(schema: Schema, value: T): T {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  if (validate(value)) return value;
  throw toValidationError(schema, validate.errors ?? []);
}

interface Located {
  /** Instance path segments of the offending field (a missing property included). */
  segments: string[];
  error: ErrorObject;
  /** The schema that failed, for its `x-messages`. */
  schema: Schema;
}

const KEYWORD_PRIORITY = ['required', 'type'];

function toValidationError(root: Schema, errors: ErrorObject[]): ValidationError {
  const located = errors.map((error) => locate(root, error));
  located.sort(
    (a, b) =>
      compareOrder(orderKey(root, a.segments), orderKey(root, b.segments)) ||
      priority(a.error.keyword) - priority(b.error.keyword),
  );
  const first = located[0];
  if (!first) return new ValidationError('body', 'is invalid');
  return describe(first);
}

function priority(keyword: string): number {
  const i = KEYWORD_PRIORITY.indexOf(keyword);
  return i === -1 ? KEYWORD_PRIORITY.length : i;
}

function locate(root: Schema, error: ErrorObject): Located {
  const segments = error.instancePath.split('/').slice(1).map(unescapePointer);
  if (error.keyword === 'required') {
    const missing = (error.params as { missingProperty: string }).missingProperty;
    segments.push(missing);
    // A missing property reads as that property failing its type: `user_id: must be a string`.
    const schema = schemaAt(root, segments) ?? {};
    const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
    return {
      segments,
      error: { ...error, keyword: 'type', params: { type } },
      schema,
    };
  }
  // An argument the schema does not know is named itself: `user_id: is not an argument ...`.
  if (error.keyword === 'additionalProperties') {
    segments.push((error.params as { additionalProperty: string }).additionalProperty);
  }
  return { segments, error, schema: (error.parentSchema ?? {}) as Schema };
}

function describe({ segments, error, schema }: Located): ValidationError {
  const messages = (schema['x-messages'] ?? {}) as Record<string, string>;
  const code = error.keyword === 'maxLength' || error.keyword === 'maxItems' ? 'too_large' : 'invalid_input';
  const message = messages[error.keyword] ?? messages.default ?? genericMessage(error);
  // A vector (an array of numbers) is one field: `embedding: element 3 must be ...`.
  const last = segments.at(-1);
  if (isIndex(last) && schema.type === 'number') {
    return new ValidationError(fieldName(segments.slice(0, -1)), `element ${last} ${message}`, code);
  }
  return new ValidationError(fieldName(segments) || 'body', message, code);
}

function genericMessage(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'type': {
      const type = Array.isArray(params.type) ? params.type[0] : String(params.type).split(',')[0];
      return type === 'object' || type === 'array' || type === 'integer'
        ? `must be an ${type}`
        : `must be a ${type}`;
    }
    case 'minLength':
    case 'minItems':
      return Number(params.limit) === 1 ? 'must not be empty' : `must hold at least ${String(params.limit)}`;
    case 'maxLength':
      return `must be at most ${String(params.limit)} characters`;
    case 'maxItems':
      return `must hold at most ${String(params.limit)} items`;
    case 'minimum':
    case 'maximum':
      return `must be ${error.keyword === 'minimum' ? 'at least' : 'at most'} ${String(params.limit)}`;
    case 'enum':
    case 'const':
      return 'is not one of the accepted values';
    default:
      return 'is invalid';
  }
}

/** `['chunks', '3', 'text']` → `chunks[3].text`. */
export function fieldName(segments: readonly string[]): string {
  return segments.reduce((name, segment) => {
    if (isIndex(segment)) return `${name}[${segment}]`;
    return name ? `${name}.${segment}` : segment;
  }, '');
}

function isIndex(segment: string | undefined): segment is string {
  return segment !== undefined && /^(0|[1-9]\d*)$/.test(segment);
}

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** Walks `properties` / `items` down the instance path. */
function schemaAt(root: Schema, segments: readonly string[]): Schema | undefined {
  let schema: Schema | undefined = root;
  for (const segment of segments) {
    if (!schema) return undefined;
    const properties = schema.properties as Record<string, Schema> | undefined;
    if (properties && Object.hasOwn(properties, segment)) schema = properties[segment];
    else if (isIndex(segment) && schema.items) schema = schema.items as Schema;
    else return undefined;
  }
  return schema;
}

/** Position of each segment in reading order: property index in the schema, or array index. */
function orderKey(root: Schema, segments: readonly string[]): number[] {
  const key: number[] = [];
  let schema: Schema | undefined = root;
  for (const segment of segments) {
    const properties = schema?.properties as Record<string, Schema> | undefined;
    if (properties && Object.hasOwn(properties, segment)) {
      key.push(Object.keys(properties).indexOf(segment));
      schema = properties[segment];
    } else if (isIndex(segment)) {
      key.push(Number(segment));
      schema = schema?.items as Schema | undefined;
    } else {
      key.push(Number.MAX_SAFE_INTEGER);
      schema = undefined;
    }
  }
  return key;
}

/** Lexicographic; a parent (a prefix) sorts before its children. */
function compareOrder(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
