/**
 * Checks a response against the OpenAPI document (what GET /openapi.json serves): the status is
 * documented for the operation, an error's code is among the documented ones for that status,
 * and the body matches the documented schema. The test daemons' clients run it on every response
 * (test/helpers/daemon.ts), so every HTTP test is also a contract test.
 */
import { Ajv, type ValidateFunction } from 'ajv';

import { openApiDocument } from '../../src/api/openapi.js';

type Json = Record<string, unknown>;

interface DocumentedOperation {
  method: string;
  template: string;
  matcher: RegExp;
  operation: Json;
}

const ajv = new Ajv({ allErrors: false, strict: false, validateFormats: false });
const validators = new Map<Json, ValidateFunction>();

let operationsCache: DocumentedOperation[] | undefined;

function documentedOperations(): DocumentedOperation[] {
  if (operationsCache) return operationsCache;
  const paths = openApiDocument().paths as Record<string, Record<string, Json>>;
  operationsCache = Object.entries(paths).flatMap(([template, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({
      method: method.toUpperCase(),
      template,
      matcher: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+').replace(/\./g, '\\.')}$`),
      operation,
    })),
  );
  return operationsCache;
}

/** The operation a request reaches, if any (an unknown path or method is the router's 404/405). */
export function operationFor(method: string, pathname: string): DocumentedOperation | undefined {
  return documentedOperations().find((op) => op.method === method && op.matcher.test(pathname));
}

export interface ObservedResponse {
  method: string;
  path: string;
  status: number;
  contentType: string | null;
  json: unknown;
}

/** Problems with this response, as sentences; empty when it matches the document. */
export function contractProblems(observed: ObservedResponse): string[] {
  const pathname = new URL(observed.path, 'http://x').pathname;
  const where = `${observed.method} ${pathname} -> ${observed.status}`;
  const op = operationFor(observed.method, pathname);
  if (!op) {
    // The router's answers: 404 / 405 with the error body.
    if (observed.status !== 404 && observed.status !== 405 && observed.status !== 503) {
      return [`${where}: no documented operation for this request`];
    }
    return isErrorBody(observed.json) ? [] : [`${where}: not an error body`];
  }
  const responses = op.operation.responses as Record<string, Json>;
  const response = responses[String(observed.status)];
  if (!response) return [`${where}: status not documented for ${op.method} ${op.template}`];
  const content = response.content as Record<string, { schema: Json }> | undefined;
  if (!content) return observed.json === undefined ? [] : [`${where}: a body where none is documented`];
  const json = content['application/json'];
  if (!json)
    return observed.contentType?.startsWith(Object.keys(content)[0]!) ? [] : [`${where}: content type`];
  let validate = validators.get(json.schema);
  if (!validate) {
    validate = ajv.compile(json.schema);
    validators.set(json.schema, validate);
  }
  if (!validate(observed.json)) {
    return [`${where}: body does not match the documented schema: ${ajv.errorsText(validate.errors)}`];
  }
  return [];
}

function isErrorBody(json: unknown): boolean {
  const error = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  return typeof error?.code === 'string' && typeof error.message === 'string';
}
