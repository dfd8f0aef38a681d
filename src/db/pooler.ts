/**
 * Is this connection going through a pooler, and is that safe for memvault? (`memvault doctor`)
 *
 * Detection, without the pooler's admin console (which the app role cannot reach):
 *   - pgbouncer refuses startup parameters it does not track (`unsupported startup parameter`,
 *     SQLSTATE 08P01) where PostgreSQL accepts any GUC: a connection that sends
 *     `statement_timeout` at startup tells the two apart;
 *   - any other proxy or pooler shows as a port mismatch: the server's own `port` setting differs
 *     from the port the URL connects to.
 * Safety: memvault keeps every piece of session state inside a transaction (tenant context, ANN
 * settings, statement timeout: SET LOCAL / set_config(..., true)), so transaction and session
 * pooling are safe; statement pooling is not (it refuses multi-statement transactions), and LISTEN
 * through a transaction pooler silently loses notifications, so MEMVAULT_LISTEN_URL must then name
 * a direct connection.
 */
import pg from 'pg';

export interface PoolerProbe {
  /** 'pgbouncer', 'proxy' (something answers on a port the server does not listen on), or null. */
  pooler: 'pgbouncer' | 'proxy' | null;
  /** The port in the URL and the server's own `port` setting (null when it could not be read). */
  urlPort: number;
  serverPort: number | null;
}

const PGBOUNCER_REFUSAL = /unsupported startup parameter/i;

async function withClient<T>(config: pg.ClientConfig, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

export async function probePooler(url: string): Promise<PoolerProbe> {
  const urlPort = new pg.Client({ connectionString: url }).port;
  try {
    // A harmless value for a harmless setting: PostgreSQL takes it, pgbouncer refuses it.
    await withClient({ connectionString: url, statement_timeout: 60_000 }, async () => undefined);
  } catch (thrown) {
    if (PGBOUNCER_REFUSAL.test((thrown as Error).message ?? '')) {
      return { pooler: 'pgbouncer', urlPort, serverPort: null };
    }
    throw thrown;
  }
  const serverPort = await withClient({ connectionString: url }, async (client) => {
    const { rows } = await client.query<{ port: string }>("select current_setting('port') as port");
    return Number(rows[0]?.port);
  });
  return { pooler: serverPort !== urlPort ? 'proxy' : null, urlPort, serverPort };
}

/** True when a multi-statement transaction works on this URL (statement pooling refuses it). */
export async function transactionsWork(url: string): Promise<boolean> {
  return withClient({ connectionString: url }, async (client) => {
    try {
      await client.query('begin');
      await client.query("select set_config('memvault.pooler_probe', 'on', true)");
      const { rows } = await client.query<{ v: string }>(
        "select current_setting('memvault.pooler_probe', true) as v",
      );
      await client.query('commit');
      return rows[0]?.v === 'on';
    } catch {
      return false;
    }
  });
}

export interface PoolerCheck {
  ok: boolean;
  detail: string;
}

function describe(probe: PoolerProbe): string {
  return probe.pooler === 'pgbouncer'
    ? 'pgbouncer (it refused a statement_timeout startup parameter)'
    : `a proxy or pooler (the URL's port ${probe.urlPort}, the server's ${probe.serverPort})`;
}

/**
 * The doctor's `pooler` line for DATABASE_URL, given MEMVAULT_LISTEN_URL (or undefined).
 * Never prints a URL: they may carry passwords.
 */
export async function checkPooler(databaseUrl: string, listenUrl: string | undefined): Promise<PoolerCheck> {
  const probe = await probePooler(databaseUrl);
  if (!probe.pooler) return { ok: true, detail: 'direct connection to PostgreSQL (no pooler detected)' };
  const what = describe(probe);
  if (!(await transactionsWork(databaseUrl))) {
    return {
      ok: false,
      detail: `${what} refuses multi-statement transactions (statement pooling?): use transaction pooling`,
    };
  }
  if (!listenUrl) {
    return {
      ok: false,
      detail: `${what}, transactions work; but MEMVAULT_LISTEN_URL is unset, and LISTEN through a transaction pooler loses notifications: set it to a direct connection`,
    };
  }
  const listen = await probePooler(listenUrl);
  if (listen.pooler) {
    return {
      ok: false,
      detail: `${what}; MEMVAULT_LISTEN_URL goes through ${describe(listen)} too: it must be a direct connection`,
    };
  }
  return {
    ok: true,
    detail: `${what}: safe (transactions work, all session state is transaction-local, LISTEN on the direct MEMVAULT_LISTEN_URL)`,
  };
}
