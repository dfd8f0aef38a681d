/**
 * POST /mcp: memvault's MCP server over Streamable HTTP, behind the API's bearer token. Stateless:
 * each POST gets a fresh MCP server bound to the user named by `X-Memvault-User-Id` (checked like
 * any user_id), so no session can outlive or switch its tenant, and any daemon behind a load
 * balancer can answer. JSON responses rather than SSE: every tool answers in one response.
 */
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

import { operations } from '../../api/schema.js';
import { createMcpServer } from '../../mcp/tools.js';
import { backendOfUseCases } from '../../mcp/use-case-backend.js';
import type { MemoryContext } from '../../memory/context.js';
import { validateId } from '../../memory/validate.js';
import type { Route } from '../router.js';
import { operationRoute } from './operation.js';

export function mcpRoutes(memory: MemoryContext): Route[] {
  return [
    operationRoute(operations.mcp, async (ctx) => {
      const userId = validateId(ctx.headers['X-Memvault-User-Id'], 'X-Memvault-User-Id');
      const body = await ctx.body();
      const server = createMcpServer(backendOfUseCases(memory, ctx.signal), userId);
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: undefined,
        enableJsonResponse: true,
      });
      ctx.res.once('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(ctx.req, ctx.res, body);
      return { written: true };
    }),
  ];
}
