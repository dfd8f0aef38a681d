/**
 * The OpenAPI 3.1 document, generated from the operations the server validates with
 * (src/api/schema.ts). Served at GET /openapi.json and committed as docs/openapi.json
 * (`memvault openapi > docs/openapi.json`; test/http/contract.test.ts fails on drift).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { packageRoot } from '../paths.js';
import {
  allOperations,
  ERROR_CODES,
  errorBodySchema,
  type ErrorCode,
  type Operation,
  type Schema,
} from './schema.js';

const DESCRIPTION = `Encrypted, tenant-isolated long-term memory for AI assistants.

Every \`/v1\` route needs \`Authorization: Bearer <MEMVAULT_API_TOKEN>\`. Request bodies are
\`application/json\` objects of at most \`MEMVAULT_MAX_BODY_BYTES\`. Every failure is
\`{"error": {"code", "message", "field"?}}\`; any route also answers 404 \`not_found\` for an unknown
path and 405 \`method_not_allowed\` (with \`Allow\`) for a known path with another method. Every
response carries \`X-Request-Id\`. Prose reference: docs/API.md.`;

let cached: Record<string, unknown> | undefined;

export function openApiDocument(): Record<string, unknown> {
  cached ??= buildDocument();
  return cached;
}

function buildDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of allOperations) {
    paths[op.path] ??= {};
    paths[op.path]![op.method.toLowerCase()] = operationObject(op);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'memvault',
      version: packageVersion(),
      description: DESCRIPTION,
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: 'http://127.0.0.1:7420', description: 'the default local daemon' }],
    tags: [
      { name: 'memory', description: 'Store, retrieve and forget memories, per end user' },
      { name: 'rerank', description: 'The cross-encoder as a service' },
      { name: 'mcp', description: 'The Model Context Protocol server for assistants' },
      { name: 'operations', description: 'Probes, metrics and this document; no token, no tenant data' },
    ],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'MEMVAULT_API_TOKEN' } },
    },
  };
}

function operationObject(op: Operation): Record<string, unknown> {
  const responses: Record<string, unknown> = {};
  for (const [status, reply] of Object.entries(op.responses)) {
    responses[status] = {
      description: reply.description,
      ...(reply.schema
        ? { content: { 'application/json': { schema: publishable(reply.schema) } } }
        : reply.contentType
          ? { content: { [reply.contentType]: { schema: { type: 'string' } } } }
          : {}),
    };
  }
  for (const [status, codes] of errorsByStatus(op.errors)) {
    const description = codes.map((code) => `\`${code}\`: ${ERROR_CODES[code].when}`).join('; ');
    const schema = errorBodySchema(codes);
    const reply = op.responses[status];
    // A status both answers and errors use (/readyz's 503): either body.
    responses[status] = reply?.schema
      ? {
          description: `${reply.description} Or ${description}`,
          content: { 'application/json': { schema: { oneOf: [publishable(reply.schema), schema] } } },
        }
      : { description, content: { 'application/json': { schema } } };
  }
  return {
    operationId: op.operationId,
    tags: [op.tag],
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    security: op.auth ? [{ bearer: [] }] : [],
    ...(op.params || op.query || op.headers || op.optionalHeaders ? { parameters: parametersOf(op) } : {}),
    ...(op.body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: publishable(op.body) } },
          },
        }
      : {}),
    responses,
  };
}

/** Path parameters and declared headers (required), then query parameters and optional headers. */
function parametersOf(op: Operation): Array<Record<string, unknown>> {
  const list = (
    where: 'path' | 'query' | 'header',
    entries: Record<string, Schema> | undefined,
    required: boolean,
  ) =>
    Object.entries(entries ?? {}).map(([name, schema]) => ({
      name,
      in: where,
      required,
      description: schema.description,
      schema: publishable(schema),
    }));
  return [
    ...list('path', op.params, true),
    ...list('query', op.query, false),
    ...list('header', op.headers, true),
    ...list('header', op.optionalHeaders, false),
  ];
}

/** The error codes of an operation grouped by status, statuses ascending. */
export function errorsByStatus(codes: readonly ErrorCode[]): Array<[number, ErrorCode[]]> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = ERROR_CODES[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return [...byStatus.entries()].sort(([a], [b]) => a - b);
}

/** The schema without our validator's annotations (`x-messages`). */
export function publishable(schema: Schema): Schema {
  return JSON.parse(
    JSON.stringify(schema, (key, value: unknown) => (key === 'x-messages' ? undefined : value)),
  );
}

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}
