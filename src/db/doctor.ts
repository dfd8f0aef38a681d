/**
 * Pre-deploy sanity checks against a live database: what must be true for tenant isolation and
 * search to work as designed. Each check reads the catalogs or calls a diagnostic procedure, so it
 * works when connected as the least-privileged app role.
 */
import { readdir } from 'node:fs/promises';

import type pg from 'pg';

import { ANALYZER_VERSION } from '../lexical/index.js';
import { migrationsFolder } from '../paths.js';
import { DatabaseError, MaintenanceForbiddenError } from './errors.js';
import { lexicalCoverage } from './lexical.js';
import { LEXICAL_POSTINGS_INDEX, TENANT_BTREE_INDEXES } from './plans.js';
import * as procedures from './procedures.js';
import { vectorCoverage, vectorProtection } from './vectors.js';

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

type Check = (db: pg.ClientBase) => Promise<Omit<CheckResult, 'name'>>;

/** The procedures the daemon calls; memory_app must be able to execute each. */
export const INTERFACE_PROCEDURES = [
  'memory.set_tenant(text,text)',
  'memory.index_chunk(text,uuid,text,text,bytea,bytea,bytea,vector,integer,smallint)',
  'memory.index_chunks(text,uuid[],text[],text[],bytea[],bytea[],bytea[],vector[],integer,smallint,integer[],integer[],bigint[],integer[],integer,smallint)',
  'memory.index_chunks(text,uuid[],text[],text[],bytea[],bytea[],bytea[],vector[],integer,smallint,integer[],integer[],bigint[],integer[],integer,smallint,smallint,integer)',
  'memory.search(text,vector,integer,text,text)',
  'memory.search_lexical(text,bigint[],integer,text,text,integer)',
  'memory.search_hybrid(text,vector,bigint[],integer,text,text,integer)',
  'memory.search_candidates(text,vector,integer,bigint[],integer,text,text,integer)',
  'memory.search_layout()',
  'memory.list_chunks_filtered(text,integer,text,text,bigint,uuid,jsonb)',
  'memory.search_candidates_chunks(text,vector,integer,bigint[],integer,text,text,integer,jsonb)',
  'memory.search_candidates_chunks(text,vector[],smallint[],integer[],integer,bigint[],integer,text,text,integer,jsonb)',
  'memory.search_lexical_chunks(text,bigint[],integer,text,text,integer,jsonb)',
  'memory.filter_backlog(text,integer)',
  'memory.store_filter_tokens(text,uuid[],integer[],bigint[],integer)',
  'memory.get_chunks(text,uuid[])',
  'memory.get_chunk(text,uuid)',
  'memory.list_chunks(text,integer,text,text,bigint,uuid)',
  'memory.update_chunk(text,uuid,bigint,bytea,bytea,bytea,vector,integer,smallint,boolean,integer,bigint[],integer[],integer,smallint)',
  'memory.update_chunk(text,uuid,bigint,bytea,bytea,bytea,vector,integer,smallint,boolean,integer,bigint[],integer[],integer,smallint,smallint,integer)',
  'memory.delete_chunk(text,uuid,bigint)',
  'memory.claim_idempotency_key(text,bytea,bytea)',
  'memory.record_idempotent_response(text,bytea,integer,jsonb)',
  'memory.delete_doc(text,text)',
  'memory.forget_tenant(text)',
  'memory.tenant_stats(text)',
  'memory.get_settings()',
  'memory.health()',
  'memory.next_dek_id()',
  'memory.get_tenant_keys(text)',
  'memory.add_tenant_key(text,integer,bytea,integer)',
  'memory.key_stats()',
];

const REQUIRED_INDEXES = [
  'memory_chunks_pkey',
  'memory_chunks_user_doc_idx',
  'memory_chunks_embedding_hnsw_idx',
  'chunk_vectors_pkey',
  'chunk_vectors_embedding_hnsw_idx',
  'chunk_vectors_scheme_idx',
  'memory_chunks_user_created_idx',
  'memory_chunks_filter_tokens_idx',
  'memory_chunks_filter_key_idx',
];
/**
 * pgvector 0.8.0: HNSW came in 0.5, but memory.apply_ann_settings (run by every search) sets
 * hnsw.iterative_scan, which exists only from 0.8.0, and the ANN shape relies on iterative scans to
 * keep finding rows of the tenant after the first ef_search candidates are filtered out.
 */
export const MIN_VECTOR_VERSION = [0, 8, 0];

export function versionAtLeast(version: string, min: number[]): boolean {
  const parts = version.split('.').map((p) => Number.parseInt(p, 10) || 0);
  for (let i = 0; i < min.length; i++) {
    if ((parts[i] ?? 0) !== min[i]) return (parts[i] ?? 0) > min[i]!;
  }
  return true;
}

async function one<T extends pg.QueryResultRow>(
  db: pg.ClientBase,
  text: string,
  values: unknown[] = [],
): Promise<T | undefined> {
  return (await db.query<T>(text, values)).rows[0];
}

/** A Citus coordinator (the database has the citus extension): db/citus/distribute.sql applies. */
async function onCitus(db: pg.ClientBase): Promise<boolean> {
  const row = await one<{ citus: boolean }>(
    db,
    "select exists (select from pg_extension where extname = 'citus') as citus",
  );
  return row?.citus ?? false;
}

const checks: Record<string, Check> = {
  async server_version(db) {
    const row = await one<{ v: number }>(db, "select current_setting('server_version_num')::int as v");
    const v = row?.v ?? 0;
    return { ok: v >= 150000, detail: `PostgreSQL ${Math.floor(v / 10000)}.${v % 10000} (need >= 15)` };
  },

  async vector_extension(db) {
    const row = await one<{ extversion: string }>(
      db,
      "select extversion from pg_extension where extname = 'vector'",
    );
    if (!row) return { ok: false, detail: 'pgvector is not installed in this database' };
    const ok = versionAtLeast(row.extversion, MIN_VECTOR_VERSION);
    const min = MIN_VECTOR_VERSION.join('.');
    return {
      ok,
      detail: ok
        ? `pgvector ${row.extversion} (need >= ${min})`
        : `pgvector ${row.extversion} is older than ${min}: search sets hnsw.iterative_scan, which needs ${min} ` +
          '(install it with scripts/ensure-postgres.sh, then run `alter extension vector update;` in this database)',
    };
  },

  async rls_enabled(db) {
    const rows = (
      await db.query<{ relname: string; relrowsecurity: boolean }>(
        "select relname, relrowsecurity from pg_class where relnamespace = 'memory'::regnamespace and relkind = 'r' order by relname",
      )
    ).rows;
    const off = rows.filter((r) => !r.relrowsecurity).map((r) => r.relname);
    if (rows.length === 0) return { ok: false, detail: 'schema memory has no tables (not migrated?)' };
    return {
      ok: off.length === 0,
      detail: off.length ? `RLS disabled on ${off.join(', ')}` : `RLS enabled on ${rows.length} tables`,
    };
  },

  async rls_forced(db) {
    const rows = (
      await db.query<{ relname: string; relforcerowsecurity: boolean }>(
        "select relname, relforcerowsecurity from pg_class where relnamespace = 'memory'::regnamespace and relkind = 'r' order by relname",
      )
    ).rows;
    const off = rows.filter((r) => !r.relforcerowsecurity).map((r) => r.relname);
    return {
      ok: rows.length > 0 && off.length === 0,
      detail: off.length
        ? `FORCE RLS off on ${off.join(', ')}: the owner (and its procedures) would bypass the policy`
        : 'FORCE RLS on every table',
    };
  },

  async tenant_policy(db) {
    const row = await one<{
      cmd: string;
      qual: string | null;
      with_check: string | null;
      permissive: string;
    }>(
      db,
      "select cmd, qual, with_check, permissive from pg_policies where schemaname = 'memory' and tablename = 'memory_chunks' and policyname = 'memory_tenant_isolation'",
    );
    if (!row) return { ok: false, detail: 'policy memory_tenant_isolation is missing' };
    const bound = (expr: string | null) =>
      !!expr && expr.includes("current_setting('memory.user_hash'") && expr.includes('user_hash');
    const others = await one<{ n: string }>(
      db,
      "select count(*) as n from pg_policies where schemaname = 'memory' and tablename = 'memory_chunks' and permissive = 'PERMISSIVE' and policyname <> 'memory_tenant_isolation'",
    );
    const ok = row.cmd === 'ALL' && bound(row.qual) && bound(row.with_check) && Number(others?.n) === 0;
    return {
      ok,
      detail: ok
        ? 'memory_tenant_isolation: FOR ALL, USING and WITH CHECK bound to memory.user_hash; no other permissive policy'
        : 'memory_tenant_isolation is not FOR ALL with USING and WITH CHECK on memory.user_hash, or another permissive policy widens it',
    };
  },

  async owner_role(db) {
    const row = await one<{ rolcanlogin: boolean; rolsuper: boolean; rolbypassrls: boolean }>(
      db,
      "select rolcanlogin, rolsuper, rolbypassrls from pg_roles where rolname = 'memory_owner'",
    );
    if (!row) return { ok: false, detail: 'role memory_owner is missing' };
    const owned = await one<{ n: string }>(
      db,
      `select count(*) as n from (
         select relowner as owner from pg_class where relnamespace = 'memory'::regnamespace and relkind in ('r', 'i')
         union all select proowner from pg_proc where pronamespace = 'memory'::regnamespace) o
       where owner <> 'memory_owner'::regrole`,
    );
    // On Citus the nodes connect to one another as the owner (db/bootstrap/roles.sql).
    const citus = await onCitus(db);
    const problems = [
      row.rolcanlogin && !citus && 'can log in',
      row.rolsuper && 'is superuser',
      row.rolbypassrls && 'has BYPASSRLS',
      Number(owned?.n) > 0 && `${owned?.n} memory objects owned by another role`,
    ].filter(Boolean);
    return {
      ok: problems.length === 0,
      detail: problems.length
        ? `memory_owner ${problems.join(', ')}`
        : `memory_owner: ${citus ? 'LOGIN (Citus: the nodes connect as the owner; pg_hba admits it only from the nodes)' : 'NOLOGIN'}, no superuser, no BYPASSRLS, owns every memory object`,
    };
  },

  async app_role(db) {
    const row = await one<{
      rolcanlogin: boolean;
      rolsuper: boolean;
      rolbypassrls: boolean;
      rolcreaterole: boolean;
      rolcreatedb: boolean;
      member: boolean;
    }>(
      db,
      "select rolcanlogin, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, pg_has_role('memory_app', 'memory_owner', 'member') as member from pg_roles where rolname = 'memory_app'",
    );
    if (!row) return { ok: false, detail: 'role memory_app is missing' };
    const problems = [
      !row.rolcanlogin && 'cannot log in',
      row.rolsuper && 'is superuser',
      row.rolbypassrls && 'has BYPASSRLS',
      row.rolcreaterole && 'has CREATEROLE',
      row.rolcreatedb && 'has CREATEDB',
      row.member && 'is a member of memory_owner',
    ].filter(Boolean);
    return {
      ok: problems.length === 0,
      detail: problems.length
        ? `memory_app ${problems.join(', ')}`
        : 'memory_app: LOGIN, no superuser, no BYPASSRLS, not a member of memory_owner',
    };
  },

  async app_table_grants(db) {
    const rows = (
      await db.query<{ relname: string }>(
        `select c.relname from pg_class c
       where c.relnamespace = 'memory'::regnamespace and c.relkind in ('r', 'v', 'm')
         and (has_table_privilege('memory_app', c.oid, 'select') or has_table_privilege('memory_app', c.oid, 'insert')
           or has_table_privilege('memory_app', c.oid, 'update') or has_table_privilege('memory_app', c.oid, 'delete')
           or has_table_privilege('memory_app', c.oid, 'truncate'))`,
      )
    ).rows;
    return {
      ok: rows.length === 0,
      detail: rows.length
        ? `memory_app has table privileges on ${rows.map((r) => r.relname).join(', ')}`
        : 'memory_app has no privileges on memory tables',
    };
  },

  async app_executes_procedures(db) {
    const missing: string[] = [];
    for (const signature of INTERFACE_PROCEDURES) {
      const row = await one<{ ok: boolean | null }>(
        db,
        "select case when to_regprocedure($1) is null then null else has_function_privilege('memory_app', to_regprocedure($1), 'execute') end as ok",
        [signature.replace(/vector/g, 'public.vector')],
      );
      if (!row?.ok) missing.push(signature.split('(')[0]!);
    }
    return {
      ok: missing.length === 0,
      detail: missing.length
        ? `memory_app cannot execute ${missing.join(', ')}`
        : `memory_app can execute the ${INTERFACE_PROCEDURES.length} interface procedures`,
    };
  },

  async procedures_hardened(db) {
    const rows = (
      await db.query<{ name: string; definer: boolean; pinned: boolean; public_exec: boolean }>(
        `select p.proname as name, p.prosecdef as definer,
              coalesce(exists (select from unnest(p.proconfig) s where s like 'search_path=%'), false) as pinned,
              has_function_privilege('public', p.oid, 'execute') as public_exec
       from pg_proc p where p.pronamespace = 'memory'::regnamespace`,
      )
    ).rows;
    const bad = rows.filter((r) => (r.definer && !r.pinned) || r.public_exec).map((r) => r.name);
    return {
      ok: rows.length > 0 && bad.length === 0,
      detail: bad.length
        ? `unpinned search_path or PUBLIC execute on: ${bad.join(', ')}`
        : `${rows.length} functions: SECURITY DEFINER ones pin search_path; none executable by PUBLIC`,
    };
  },

  async indexes_present(db) {
    const rows = (
      await db.query<{ name: string; valid: boolean }>(
        "select c.relname as name, i.indisvalid as valid from pg_index i join pg_class c on c.oid = i.indexrelid where i.indrelid in ('memory.memory_chunks'::regclass, 'memory.chunk_vectors'::regclass)",
      )
    ).rows;
    const valid = new Set(rows.filter((r) => r.valid).map((r) => r.name));
    const missing = REQUIRED_INDEXES.filter((n) => !valid.has(n));
    return {
      ok: missing.length === 0,
      detail: missing.length ? `missing or invalid: ${missing.join(', ')}` : REQUIRED_INDEXES.join(', '),
    };
  },

  async search_plan(db) {
    const { embeddingDim } = await procedures.health(db);
    const probe = Array.from({ length: embeddingDim }, (_, i) => (i === 0 ? 1 : 0));
    const plan = await procedures.explainSearch(db, '0'.repeat(64), probe, 24);
    const used = procedures.indexesInPlan(plan);
    const ok = used.some((n) => REQUIRED_INDEXES.includes(n));
    return {
      ok,
      detail: ok ? `search uses ${used.join(', ')}` : 'search plan uses no memvault index (sequential scan)',
    };
  },

  async lookup_plans(db) {
    const plans = await procedures.explainLookups(db, '0'.repeat(64));
    const byId = procedures.indexesInPlan(plans.by_id!);
    const byDoc = procedures.indexesInPlan(plans.by_doc!);
    // On a near-empty table the planner may pick any tenant-first index for either lookup (their
    // costs tie); what must never happen is a sequential scan of every tenant's rows.
    const tenantFirst = (used: string[]) =>
      used.some((name) => (TENANT_BTREE_INDEXES as readonly string[]).includes(name));
    const ok = tenantFirst(byId) && tenantFirst(byDoc);
    return {
      ok,
      detail: `by id uses ${byId.join(', ') || 'no index'}; by doc uses ${byDoc.join(', ') || 'no index'}`,
    };
  },

  async lexical_plan(db) {
    const plan = await procedures.explainSearchLexical(db, '0'.repeat(64), [1n, 2n, 3n], 24);
    const used = procedures.indexesInPlan(plan);
    const ok = used.includes(LEXICAL_POSTINGS_INDEX);
    return {
      ok,
      detail: ok
        ? `BM25 reads postings through ${LEXICAL_POSTINGS_INDEX}`
        : `BM25 plan uses ${used.join(', ') || 'no index'}, not ${LEXICAL_POSTINGS_INDEX}`,
    };
  },

  lexical_index: lexicalIndexCheck,
  search_layout: searchLayoutCheck,
  vector_protection: vectorProtectionCheck,
  tenant_proofs: tenantProofsCheck,

  async migrations_current(db) {
    const expected = (await readdir(`${migrationsFolder}/committed`)).filter((f) =>
      f.endsWith('.sql'),
    ).length;
    const { migrationCount, lastMigration } = await procedures.health(db);
    return {
      ok: migrationCount === expected,
      detail: `${migrationCount} of ${expected} committed migrations applied (last: ${lastMigration ?? 'none'})`,
    };
  },

  async citus(db) {
    if (!(await onCitus(db))) return { ok: true, detail: 'not a Citus coordinator (single server)' };
    const tables = await db.query<{ table: string; kind: string; colocated: boolean }>(
      `select c.oid::regclass::text as table, coalesce(p.partmethod::text, '-') as kind,
              coalesce(p.colocationid = (select colocationid from pg_dist_partition
                                         where logicalrelid = 'memory.memory_chunks'::regclass), false) as colocated
       from pg_class c left join pg_dist_partition p on p.logicalrelid = c.oid
       where c.relnamespace = 'memory'::regnamespace and c.relkind = 'r'`,
    );
    const workers = await one<{ n: string }>(
      db,
      "select count(*) as n from pg_dist_node where groupid <> 0 and noderole = 'primary' and isactive",
    );
    const delegated = await one<{ n: string }>(
      db,
      `select count(*) as n from pg_dist_object
       where classid = 'pg_proc'::regclass and distribution_argument_index is not null`,
    );
    const problems = tables.rows
      .filter((t) => (t.kind === 'h' ? !t.colocated : t.kind !== 'n'))
      .map((t) => `${t.table} ${t.kind === 'h' ? 'not co-located with memory_chunks' : 'not distributed'}`);
    return {
      ok: problems.length === 0 && Number(workers?.n) > 0,
      detail: problems.length
        ? `run memvault migrate again: ${problems.join('; ')}`
        : `Citus coordinator, ${workers?.n} workers: ${tables.rows.filter((t) => t.kind === 'h').length} tenant tables ` +
          `distributed by user_hash and co-located, ${tables.rows.filter((t) => t.kind === 'n').length} reference tables, ` +
          `${delegated?.n} tenant procedures delegated`,
    };
  },

  async rls_isolation_probe(db) {
    // The probe switches tenants inside one coordinator transaction, whose context Citus does not
    // carry to the workers' shards; on Citus isolation is proven by the tenant procedures, each of
    // which runs on its tenant's worker (test/citus/).
    if (await onCitus(db))
      return {
        ok: true,
        detail: 'not run on Citus (the probe needs one server; see docs/DEPLOYMENT.md "Citus")',
      };
    const results = await procedures.verifyRlsIsolation(db);
    const failed = results.filter((r) => !r.passed);
    return {
      ok: results.length > 0 && failed.length === 0,
      detail: failed.length
        ? `failed: ${failed.map((r) => `${r.check} (${r.detail})`).join('; ')}`
        : `${results.length} live isolation probes passed`,
    };
  },
};

/**
 * Chunks missing from the lexical index or indexed stale. Counting across tenants needs a
 * memory_maintainer session; under the app role the check says it could not count (not a failure:
 * the CLI runs it again on the embedded cluster's superuser connection).
 */
export async function lexicalIndexCheck(db: pg.ClientBase): Promise<{ ok: boolean; detail: string }> {
  let coverage;
  try {
    coverage = await lexicalCoverage(db, ANALYZER_VERSION);
  } catch (thrown) {
    // MV009, or no EXECUTE at all (the app role is not granted the maintenance procedures).
    if (
      thrown instanceof MaintenanceForbiddenError ||
      (thrown instanceof DatabaseError && thrown.sqlstate === '42501')
    ) {
      return {
        ok: true,
        detail: `not counted: needs a memory_maintainer session (${MAINTENANCE_HINT})`,
      };
    }
    throw thrown;
  }
  const behind = coverage.missing + coverage.stale;
  return {
    ok: behind === 0,
    detail:
      behind === 0
        ? `${coverage.chunks} chunk(s), all indexed (analyzer v${ANALYZER_VERSION}, tenants' active keys)`
        : `${coverage.missing} chunk(s) missing from the lexical index, ${coverage.stale} stale, of ${coverage.chunks}: run \`memvault reindex lexical\``,
  };
}

/**
 * Whether dense search reads the narrow layout (memory.chunk_vectors). A database upgraded with
 * chunks reads memory_chunks until `memvault reindex vectors` has filled the narrow table; that is
 * reported as a failure to act on, with the backlog when this session may count it.
 */
export async function searchLayoutCheck(db: pg.ClientBase): Promise<{ ok: boolean; detail: string }> {
  const layout = await procedures.searchLayout(db);
  let coverage: Awaited<ReturnType<typeof vectorCoverage>> | undefined;
  try {
    coverage = await vectorCoverage(db);
  } catch (thrown) {
    if (
      !(thrown instanceof MaintenanceForbiddenError) &&
      !(thrown instanceof DatabaseError && thrown.sqlstate === '42501')
    )
      throw thrown;
  }
  if (layout === 'vectors') {
    // Chunks without a vector in the narrow layout are invisible to dense search: written by the
    // previous release's logic after a rollback (docs/ROLLBACK.md).
    if (coverage && coverage.missing > 0) {
      return {
        ok: false,
        detail:
          `${coverage.missing} of ${coverage.chunks} chunk(s) have no search vector, so dense search cannot find them: ` +
          "run `select memory.reset_setting('search_layout')`, then `memvault reindex vectors`",
      };
    }
    return {
      ok: true,
      detail: 'dense search reads the narrow layout (memory.chunk_vectors, halfvec), re-scored from float32',
    };
  }
  const backlog = coverage
    ? `${coverage.missing} of ${coverage.chunks} chunk(s) without a search vector`
    : 'chunks without a search vector not counted (needs a memory_maintainer session)';
  return {
    ok: false,
    detail: `dense search still reads memory_chunks (the wide rows): ${backlog}; run \`memvault reindex vectors\``,
  };
}

/**
 * Whether every tenant procedure refuses a tenant without its proof (issue 11, item 5). A database
 * upgraded with tenants stays optional until `memvault tenants prove` stored their verifiers.
 */
export async function tenantProofsCheck(db: pg.ClientBase): Promise<{ ok: boolean; detail: string }> {
  const row = await one<{ required: boolean }>(db, 'select memory.tenant_proofs_required() as required');
  return row?.required
    ? {
        ok: true,
        detail:
          "required: a tenant procedure acts for a tenant only with the tenant's proof (docs/CRYPTO.md)",
      }
    : {
        ok: false,
        detail:
          'optional: tenants from before proofs existed are still served by their hash alone; ' +
          'run `memvault tenants prove` (it stores their verifiers, then requires proofs)',
      };
}

const MAINTENANCE_HINT = 'MEMVAULT_MAINTENANCE_URL, or the embedded cluster';

export const CHECK_NAMES = Object.keys(checks);

/** Runs every check; a check that throws is reported as failed with the error's message. */
export async function runDoctor(db: pg.ClientBase): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const [name, check] of Object.entries(checks)) {
    try {
      results.push({ name, ...(await check(db)) });
    } catch (thrown) {
      const message = thrown instanceof Error ? thrown.message : String(thrown);
      results.push({ name, ok: false, detail: `check failed: ${message}` });
    }
  }
  return results;
}

/**
 * Whether every stored search vector is protected under its tenant's active data key (issue 13,
 * docs/CRYPTO.md "Protected vectors"): counts chunks whose search vector is clear or under a
 * replaced key, and wide rows still holding a clear copy of the embedding. Counting across tenants
 * needs a memory_maintainer session; the app role gets a pass that says it did not count.
 */
export async function vectorProtectionCheck(db: pg.ClientBase): Promise<{ ok: boolean; detail: string }> {
  let counts: Awaited<ReturnType<typeof vectorProtection>>;
  try {
    counts = await vectorProtection(db);
  } catch (thrown) {
    if (
      thrown instanceof MaintenanceForbiddenError ||
      (thrown instanceof DatabaseError && thrown.sqlstate === '42501')
    )
      return { ok: true, detail: 'not counted (needs a memory_maintainer session)' };
    throw thrown;
  }
  const clear = Math.max(counts.clear, counts.clearCopies);
  if (clear === 0 && counts.staleKey === 0) {
    return {
      ok: true,
      detail: `all ${counts.chunks} chunk(s) have protected search vectors and no clear copy`,
    };
  }
  return {
    ok: false,
    detail:
      `${clear} of ${counts.chunks} chunk(s) have their embedding in clear in the database` +
      ` (${counts.clear} clear search vector(s), ${counts.clearCopies} clear copies in memory_chunks.embedding)` +
      `, ${counts.staleKey} protected under a replaced data key: run \`memvault reindex vectors\``,
  };
}
