/**
 * `memvault openapi`: prints the OpenAPI 3.1 document the daemon serves at GET /openapi.json
 * (generated from src/api/schema.ts). `memvault openapi > docs/openapi.json` refreshes the
 * committed copy.
 */
import { openApiDocument } from '../../api/openapi.js';
import { EXIT } from '../../daemon.js';
import { parseCommand } from '../args.js';

export const summary = 'print the OpenAPI 3.1 document of the HTTP API (as GET /openapi.json serves it)';

export async function run(args: string[]): Promise<number> {
  parseCommand(args, {
    usage: 'usage: memvault openapi   (prints the OpenAPI 3.1 document to stdout)',
    options: {},
  });
  process.stdout.write(`${JSON.stringify(openApiDocument(), null, 2)}\n`);
  return EXIT.ok;
}
