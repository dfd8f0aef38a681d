/** Every route the daemon serves; each is an operation of src/api/schema.ts. */
import type { MemoryContext } from '../../memory/context.js';
import type { Route } from '../router.js';
import { mcpRoutes } from './mcp.js';
import { memoryRoutes } from './memory.js';
import { type OpsDeps, opsRoutes } from './ops.js';
import { rerankRoutes } from './rerank.js';

export interface ApiRouteDeps extends OpsDeps {
  memory: MemoryContext;
}

export function apiRoutes(deps: ApiRouteDeps): Route[] {
  return [...opsRoutes(deps), ...memoryRoutes(deps.memory), ...rerankRoutes(), ...mcpRoutes(deps.memory)];
}
