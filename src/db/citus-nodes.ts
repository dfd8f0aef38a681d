/**
 * The Citus workers a daemon must also LISTEN on: on Citus the tenant procedures run on the worker
 * that holds the tenant (db/citus/distribute.sql), and the `memory_events` they raise are delivered
 * there, to that worker's listeners, when its transaction commits. The coordinator names its
 * workers in pg_dist_node; the daemon reaches each with the settings listener's own connection
 * (role, password, database, TLS), only the host and port changed.
 */
import type pg from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';

import type { Queryable } from './procedures.js';

export interface CitusNode {
  host: string;
  port: number;
}

/**
 * The active primary workers (nodes that hold shards), as the coordinator names them; [] when the
 * database has no citus extension (one server: events are raised where the daemon listens).
 */
export async function citusWorkers(db: Queryable): Promise<CitusNode[]> {
  const { rows } = await db.query<{ citus: boolean }>(
    "select exists (select from pg_catalog.pg_extension where extname = 'citus') as citus",
  );
  if (!rows[0]?.citus) return [];
  const { rows: nodes } = await db.query<{ host: string; port: number }>(
    `select nodename as host, nodeport as port from pg_catalog.pg_dist_node
     where groupid <> 0 and noderole = 'primary' and isactive order by nodeid`,
  );
  return nodes.map((n) => ({ host: n.host, port: Number(n.port) }));
}

/** `connectionString`'s settings, pointed at `node` instead of the host and port it names. */
export function connectionTo(connectionString: string, node: CitusNode): pg.ClientConfig {
  return { ...parseIntoClientConfig(connectionString), host: node.host, port: node.port };
}
