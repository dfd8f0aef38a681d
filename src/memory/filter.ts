/**
 * Filters on query and list, over sealed metadata. The grammar (JSON):
 *
 *   filter     := { clause, clause, ... }            all clauses hold (`{}` at the top: no filter)
 *   clause     := "and": [filter, ...]  |  "or": [filter, ...]  |  "not": filter
 *              |  "created_at" | "updated_at": { gt | gte | lt | lte: ISO 8601 time, ... }
 *              |  field: scalar                     the field equals the scalar
 *              |  field: { eq | ne: scalar }  |  field: { in | nin: [scalar, ...] }
 *   scalar     := string | finite number | boolean | null
 *
 * `field` is a top-level metadata field. Matching happens in SQL on keyed tokens of (field, value)
 * (src/crypto/filter-key.ts), so only equality and set membership can be answered: a range, a
 * `contains`, a nested value or an unknown operator is a ValidationError naming the clause
 * (`filter.year.gt`), never ignored. `ne` and `nin` are the negations of `eq` and `in`: a chunk
 * without the field matches them. Times are compared in the database, on the chunk's columns.
 *
 * parseFilter checks the shape (no key needed); compileFilter turns it into the tree the
 * procedures evaluate: {any: [token, ...]}, {all: [...]}, {either: [...]}, {not: x},
 * {time: column, op, at} — tokens as decimal strings (64-bit), keyed for one tenant.
 */
import { type FilterKey, type FilterScalar, isFilterScalar } from '../crypto/index.js';
import { ValidationError } from '../errors.js';

export type Filter =
  | { kind: 'and'; of: Filter[] }
  | { kind: 'or'; of: Filter[] }
  | { kind: 'not'; of: Filter }
  | { kind: 'in'; field: string; values: FilterScalar[] }
  | { kind: 'time'; column: 'created_at' | 'updated_at'; op: TimeOp; at: string };

type TimeOp = '>' | '>=' | '<' | '<=';

/** What the procedures evaluate (memory.filter_predicate). */
export type CompiledFilter =
  | { any: string[] }
  | { all: CompiledFilter[] }
  | { either: CompiledFilter[] }
  | { not: CompiledFilter }
  | { time: 'created_at' | 'updated_at'; op: TimeOp; at: string };

/** Bounds that keep a filter's SQL small: nesting, clauses and values in total. */
export const MAX_FILTER_DEPTH = 8;
export const MAX_FILTER_TERMS = 256;

const TIME_OPS: Record<string, TimeOp> = { gt: '>', gte: '>=', lt: '<', lte: '<=' };
const RANGE_OPS = new Set(['gt', 'gte', 'lt', 'lte']);
const UNSUPPORTED = new Set(['contains', 'icontains', 'like', 'regex', 'exists', 'between']);
// ISO 8601 with a date, a time and a zone, as the API writes timestamps.
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/;

/** A filter as the API sent it (absent or null: none). */
export function parseFilter(value: unknown, field = 'filter'): Filter | undefined {
  if (value === undefined || value === null) return undefined;
  // `{}` asks for nothing: no filter (inside and / or / not it is a 400, see parseObject).
  if (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0) return undefined;
  const budget = { terms: 0 };
  return parseObject(value, field, 1, budget);
}

function parseObject(value: unknown, path: string, depth: number, budget: { terms: number }): Filter {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ValidationError(path, 'must be an object of conditions');
  if (depth > MAX_FILTER_DEPTH)
    throw new ValidationError(path, `nests deeper than ${MAX_FILTER_DEPTH} levels`);
  if (Object.keys(value).length === 0) throw new ValidationError(path, 'needs at least one condition');
  const clauses: Filter[] = [];
  for (const [key, operand] of Object.entries(value)) {
    const at = `${path}.${key}`;
    if (++budget.terms > MAX_FILTER_TERMS)
      throw new ValidationError(path, `has more than ${MAX_FILTER_TERMS} conditions and values`);
    if (key === 'and' || key === 'or') {
      if (!Array.isArray(operand) || operand.length === 0)
        throw new ValidationError(at, 'must be a non-empty array of filters');
      const of = operand.map((item, i) => parseObject(item, `${at}[${i}]`, depth + 1, budget));
      clauses.push({ kind: key, of });
    } else if (key === 'not') {
      clauses.push({ kind: 'not', of: parseObject(operand, at, depth + 1, budget) });
    } else if (key === 'created_at' || key === 'updated_at') {
      clauses.push(...parseTimes(key, operand, at));
    } else {
      clauses.push(parseField(key, operand, at, budget));
    }
  }
  return clauses.length === 1 ? clauses[0]! : { kind: 'and', of: clauses };
}

function parseField(field: string, operand: unknown, at: string, budget: { terms: number }): Filter {
  if (isFilterScalar(operand)) return { kind: 'in', field, values: [operand] };
  if (Array.isArray(operand))
    throw new ValidationError(at, 'must be a scalar or an operator object ({"in": [...]} for a set)');
  if (typeof operand !== 'object')
    throw new ValidationError(at, 'must be a string, a finite number, a boolean or null');
  const entries = Object.entries(operand as Record<string, unknown>);
  if (entries.length === 0) throw new ValidationError(at, 'needs an operator: eq, ne, in or nin');
  const clauses = entries.map(([op, arg]): Filter => {
    const opAt = `${at}.${op}`;
    if (op === 'eq' || op === 'ne') {
      if (!isFilterScalar(arg))
        throw new ValidationError(opAt, 'must be a string, a finite number, a boolean or null');
      const eq: Filter = { kind: 'in', field, values: [arg] };
      return op === 'eq' ? eq : { kind: 'not', of: eq };
    }
    if (op === 'in' || op === 'nin') {
      if (!Array.isArray(arg) || arg.length === 0)
        throw new ValidationError(opAt, 'must be a non-empty array of scalars');
      budget.terms += arg.length;
      if (budget.terms > MAX_FILTER_TERMS)
        throw new ValidationError(opAt, `makes the filter exceed ${MAX_FILTER_TERMS} conditions and values`);
      arg.forEach((item, i) => {
        if (!isFilterScalar(item))
          throw new ValidationError(`${opAt}[${i}]`, 'must be a string, a finite number, a boolean or null');
      });
      const set: Filter = { kind: 'in', field, values: arg as FilterScalar[] };
      return op === 'in' ? set : { kind: 'not', of: set };
    }
    if (RANGE_OPS.has(op))
      throw new ValidationError(
        opAt,
        'range comparisons on metadata are not supported: metadata is sealed and matched by keyed ' +
          'tokens (equality and sets only); ranges work on created_at and updated_at',
      );
    if (UNSUPPORTED.has(op))
      throw new ValidationError(opAt, 'is not supported on sealed metadata (eq, ne, in, nin only)');
    throw new ValidationError(opAt, 'is not an operator (eq, ne, in, nin)');
  });
  return clauses.length === 1 ? clauses[0]! : { kind: 'and', of: clauses };
}

function parseTimes(column: 'created_at' | 'updated_at', operand: unknown, at: string): Filter[] {
  if (typeof operand !== 'object' || operand === null || Array.isArray(operand))
    throw new ValidationError(at, 'must be an object of gt, gte, lt, lte');
  const entries = Object.entries(operand as Record<string, unknown>);
  if (entries.length === 0) throw new ValidationError(at, 'needs gt, gte, lt or lte');
  return entries.map(([op, value]) => {
    const opAt = `${at}.${op}`;
    const sqlOp = TIME_OPS[op];
    if (!sqlOp) throw new ValidationError(opAt, 'is not an operator (gt, gte, lt, lte)');
    if (typeof value !== 'string' || !ISO_TIME.test(value) || Number.isNaN(Date.parse(value)))
      throw new ValidationError(opAt, 'must be an ISO 8601 time with a zone (2026-01-31T12:00:00Z)');
    return { kind: 'time', column, op: sqlOp, at: value };
  });
}

/** The filter with every (field, value) replaced by its token under the tenant's filter key. */
export function compileFilter(filter: Filter, key: FilterKey): CompiledFilter {
  switch (filter.kind) {
    case 'and':
      return { all: filter.of.map((f) => compileFilter(f, key)) };
    case 'or':
      return { either: filter.of.map((f) => compileFilter(f, key)) };
    case 'not':
      return { not: compileFilter(filter.of, key) };
    case 'in':
      return { any: [...new Set(filter.values.map((v) => key.token(filter.field, v).toString()))] };
    case 'time':
      return { time: filter.column, op: filter.op, at: filter.at };
  }
}
