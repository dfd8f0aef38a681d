/**
 * `memvault mcp --user-id ID [--url URL]`: memvault's MCP server on stdio, for local assistants
 * (desktop apps, IDEs) that start MCP servers as child processes. It is an HTTP client of a running
 * daemon (`memvault start` or `serve`): the tools act for the one user given here, which no tool
 * argument can change. The token is MEMVAULT_API_TOKEN, else the one `memvault start` generated
 * in MEMVAULT_HOME/secrets.env. stdout carries the protocol only; messages go to stderr.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';

import { MemvaultClient } from '../../client/index.js';
import { storedSecret } from '../../config.js';
import { defaultHome } from '../../db/cluster.js';
import { ConfigError } from '../../errors.js';
import { backendOfClient } from '../../mcp/client-backend.js';
import { createMcpServer } from '../../mcp/tools.js';
import { validateId } from '../../memory/validate.js';
import { parseCommand, UsageError } from '../args.js';

export const summary = 'MCP server on stdio for one user (--user-id), talking to a running daemon';

const USAGE = 'usage: memvault mcp --user-id ID [--url http://127.0.0.1:7420]';

export async function run(args: string[]): Promise<number> {
  const { values } = parseCommand(args, {
    usage: USAGE,
    options: { 'user-id': { type: 'string' }, url: { type: 'string' } },
  });
  if (values['user-id'] === undefined) throw new UsageError('--user-id is required', USAGE);
  const userId = validateId(values['user-id'], '--user-id');
  const env = process.env;
  const baseUrl =
    values.url ??
    env.MEMVAULT_URL ??
    `http://${env.MEMVAULT_HOST ?? '127.0.0.1'}:${env.MEMVAULT_PORT ?? '7420'}`;
  const token = env.MEMVAULT_API_TOKEN || (await storedSecret(defaultHome(env), 'MEMVAULT_API_TOKEN'));
  if (!token) {
    throw new ConfigError(
      'MEMVAULT_API_TOKEN',
      'is not set, and MEMVAULT_HOME/secrets.env holds none (run memvault start)',
    );
  }
  const server = createMcpServer(backendOfClient(new MemvaultClient({ baseUrl, token })), userId);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
  });
  await server.connect(transport);
  console.error(`memvault mcp: serving one user on stdio, memvault at ${baseUrl}`);
  // Until the client closes stdin (the SDK's transport does not notice on its own) or closes us.
  process.stdin.once('end', () => void server.close());
  await closed;
  return 0;
}
