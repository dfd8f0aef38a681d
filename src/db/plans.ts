/**
 * The two search plans, shown by `memvault doctor --plans`: since migration 000003 memory.search
 * picks its query shape per tenant (memory.search_is_exact), so one EXPLAIN cannot show both.
 *
 * - small tenant (at most ann_exact_max_rows rows): the exact shape, the tenant's rows from the
 *   tenant-first B-tree sorted by `distance + 0`. Shown for an empty probe tenant.
 * - large tenant: the ANN shape, which the planner may serve from the HNSW index. Shown for a real
 *   tenant (the planner's row estimate for that tenant decides between HNSW and a scan), with
 *   ann_exact_max_rows set to 0 inside a transaction that is rolled back, so the shape does not
 *   depend on where the threshold stands and nothing is changed (the setting's NOTIFY is never
 *   sent either).
 */
import type pg from 'pg';

import { ValidationError } from '../errors.js';
import { mapDatabaseError } from './errors.js';
import * as procedures from './procedures.js';

/** The indexes of the 'chunks' search layout (memory_chunks' float32 column, before migration 000011). */
export const HNSW_INDEX = 'memory_chunks_embedding_hnsw_idx';
export const TENANT_BTREE_INDEX = 'memory_chunks_user_doc_idx';
/** The indexes of the narrow 'vectors' layout (memory.chunk_vectors, halfvec). */
export const VECTORS_HNSW_INDEX = 'chunk_vectors_embedding_hnsw_idx';
export const VECTORS_BTREE_INDEX = 'chunk_vectors_pkey';
/**
 * The narrow layout's B-trees that lead with user_hash: the primary key, and the (user_hash,
 * vector_scheme, vector_key_id) index of protected vectors (migration 000016), which is narrower
 * (no id) and which the planner often prefers; either reads just the tenant's rows.
 */
export const VECTORS_TENANT_BTREE_INDEXES = [VECTORS_BTREE_INDEX, 'chunk_vectors_scheme_idx'] as const;
export const LEXICAL_POSTINGS_INDEX = 'lexical_postings_pkey';
/**
 * The B-trees that lead with user_hash: each reads one tenant's rows without touching another's.
 * On a near-empty table the planner's choice among them is a tie, and any of them serves the
 * exact shape (it reads all of the tenant's rows either way).
 */
export const TENANT_BTREE_INDEXES = [
  'memory_chunks_user_doc_idx',
  'memory_chunks_user_created_idx',
  'memory_chunks_filter_key_idx',
  'memory_chunks_pkey',
] as const;
const PROBE_TENANT = '0'.repeat(64);
const TENANT_HASH = /^[0-9a-f]{64}$/;

export interface SearchPlan {
  /** `small_tenant_plan` or `large_tenant_plan`: reported like doctor's checks. */
  name: string;
  ok: boolean;
  detail: string;
  /** The plan as indented lines (empty when it could not be taken). */
  tree: string[];
  indexes: string[];
}

export interface SearchPlanOptions {
  /** The large tenant's user_hash; default: the most common one in pg_stats (needs a role that may read the table's statistics). */
  largeTenant?: string | undefined;
}

export type SearchLayout = 'vectors' | 'chunks';

/** The layout dense search reads (memory.search_layout()) and the indexes each shape should use. */
async function layoutIndexes(
  db: pg.ClientBase,
): Promise<{ layout: SearchLayout; btree: string; hnsw: string }> {
  const layout = await procedures.searchLayout(db);
  return layout === 'vectors'
    ? { layout, btree: VECTORS_BTREE_INDEX, hnsw: VECTORS_HNSW_INDEX }
    : { layout, btree: TENANT_BTREE_INDEX, hnsw: HNSW_INDEX };
}

/** A unit probe vector of the schema's dimension (the plan does not depend on its direction). */
async function probeVector(db: pg.ClientBase): Promise<number[]> {
  const { embeddingDim } = await procedures.health(db);
  return Array.from({ length: embeddingDim }, (_, i) => (i === 0 ? 1 : 0));
}

/** Node type, index and relation, one line per node; the InitPlans of the RLS policy are left out. */
export function renderPlan(plan: procedures.PlanNode, depth = 0): string[] {
  if (plan['Parent Relationship'] === 'InitPlan' && plan['Node Type'] === 'Result') return [];
  const parts = [plan['Node Type']];
  if (plan['Index Name']) parts.push(`using ${plan['Index Name']}`);
  if (plan['Relation Name']) parts.push(`on ${String(plan['Relation Name'])}`);
  const sortKey = plan['Sort Key'] as string[] | undefined;
  // Long expressions (the BM25 formula) are cut: the tree shows shapes, not formulas.
  const short = (k: string) => (k.length > 100 ? `${k.slice(0, 97)}...` : k);
  if (sortKey) parts.push(`by ${sortKey.map((k) => short(k.replace(/'\[[^\]]*\]'/g, '$query'))).join(', ')}`);
  const orderBy = plan['Order By'] as string | undefined;
  if (orderBy) parts.push(`order by ${orderBy.replace(/'\[[^\]]*\]'/g, '$query')}`);
  parts.push(`(rows=${String(plan['Plan Rows'])})`);
  return [
    `${'  '.repeat(depth)}${parts.join(' ')}`,
    ...(plan.Plans ?? []).flatMap((p) => renderPlan(p, depth + 1)),
  ];
}

/** The most common tenant in the planner's statistics, when this role may see them. */
async function mostCommonTenant(db: pg.ClientBase): Promise<string | undefined> {
  const { rows } = await db.query<{ tenant: string | null }>(
    `select (most_common_vals::text::text[])[1] as tenant from pg_stats
     where schemaname = 'memory' and tablename = 'memory_chunks' and attname = 'user_hash'`,
  );
  return rows[0]?.tenant ?? undefined;
}

type Layout = Awaited<ReturnType<typeof layoutIndexes>>;

async function smallTenantPlan(db: pg.ClientBase, probe: number[], layout: Layout): Promise<SearchPlan> {
  const plan = await procedures.explainSearch(db, PROBE_TENANT, probe, 24);
  const indexes = procedures.indexesInPlan(plan);
  const exact = JSON.stringify(plan).includes("+ '0'::double precision");
  // In the chunks layout any B-tree leading with user_hash reads just the tenant's rows, and on an
  // empty probe tenant their costs tie: the planner may take any of them.
  const accepted: string[] =
    layout.layout === 'chunks' ? [...TENANT_BTREE_INDEXES] : [...VECTORS_TENANT_BTREE_INDEXES];
  const used = indexes.find((name) => accepted.includes(name));
  const ok = exact && used !== undefined;
  return {
    name: 'small_tenant_plan',
    ok,
    detail: ok
      ? `exact shape (${layout.layout} layout): the tenant's rows from ${used}, sorted by distance`
      : `expected the exact shape on ${accepted.join(' or ')} (${layout.layout} layout); got ${exact ? 'the exact shape' : 'the ANN shape'} using ${indexes.join(', ') || 'no index'}`,
    tree: renderPlan(plan),
    indexes,
  };
}

async function largeTenantPlan(
  db: pg.ClientBase,
  probe: number[],
  tenant: string,
  layout: Layout,
): Promise<SearchPlan> {
  await db.query('begin');
  try {
    await db.query("select memory.set_setting('ann_exact_max_rows', '0'::jsonb)");
    const plan = await procedures.explainSearch(db, tenant, probe, 24);
    const { rows } = await db.query<{ ef: string | null }>(
      "select value #>> '{}' as ef from memory.get_settings() where key = 'ann_ef_search'",
    );
    const indexes = procedures.indexesInPlan(plan);
    const ok = indexes.includes(layout.hnsw);
    const who = `tenant ${tenant.slice(0, 8)}…`;
    return {
      name: 'large_tenant_plan',
      ok,
      detail: ok
        ? `ANN shape for ${who} (${layout.layout} layout): ${layout.hnsw}`
        : `ANN shape for ${who} uses ${indexes.join(', ') || 'no index'}, not ${layout.hnsw} (${layout.layout} layout): the planner finds ` +
          `scanning the tenant's rows cheaper than HNSW at ef_search ${rows[0]?.ef ?? 400} (expected while the table ` +
          'holds few rows beyond this tenant)',
      tree: renderPlan(plan),
      indexes,
    };
  } finally {
    await db.query('rollback');
  }
}

/**
 * The BM25 query memory.search_lexical runs, for `tenant` (its real statistics) with a few probe
 * tokens: postings must come from the (user_hash, token, chunk_id) primary key.
 */
async function lexicalPlan(db: pg.ClientBase, tenant: string): Promise<SearchPlan> {
  const plan = await procedures.explainSearchLexical(db, tenant, [1n, 2n, 3n, 4n], 24);
  const indexes = procedures.indexesInPlan(plan);
  const ok = indexes.includes(LEXICAL_POSTINGS_INDEX);
  return {
    name: 'lexical_plan',
    ok,
    detail: ok
      ? `BM25 for tenant ${tenant.slice(0, 8)}…: postings from ${LEXICAL_POSTINGS_INDEX}, scored and cut before the ciphertexts are read`
      : `BM25 for tenant ${tenant.slice(0, 8)}… uses ${indexes.join(', ') || 'no index'}, not ${LEXICAL_POSTINGS_INDEX}`,
    tree: renderPlan(plan),
    indexes,
  };
}

/**
 * EXPLAINs the search of a small and of a large tenant, and the lexical (BM25) search of the large
 * one (or of an empty probe tenant). The large one needs a role that may call memory.set_setting
 * (a superuser or memory_maintainer) and a tenant: options.largeTenant or, for a superuser, the
 * most common tenant in pg_stats. Without them it is reported as not ok, saying why.
 */
export async function explainSearchPlans(
  db: pg.ClientBase,
  options: SearchPlanOptions = {},
): Promise<SearchPlan[]> {
  const probe = await probeVector(db);
  const layout = await layoutIndexes(db);
  const small = await smallTenantPlan(db, probe, layout);
  if (options.largeTenant !== undefined && !TENANT_HASH.test(options.largeTenant)) {
    throw new ValidationError('tenant', 'must be a user_hash (64 lowercase hex characters)');
  }
  const tenant = options.largeTenant ?? (await mostCommonTenant(db));
  const lexical = await lexicalPlan(db, tenant ?? PROBE_TENANT);
  if (!tenant) {
    return [
      small,
      {
        name: 'large_tenant_plan',
        ok: false,
        detail:
          'no tenant to explain: pass --tenant <user_hash>, or connect as a superuser once ANALYZE has ' +
          'run so that the most common tenant can be read from pg_stats',
        tree: [],
        indexes: [],
      },
      lexical,
    ];
  }
  try {
    return [small, await largeTenantPlan(db, probe, tenant, layout), lexical];
  } catch (thrown) {
    const error = mapDatabaseError(thrown);
    return [
      small,
      {
        name: 'large_tenant_plan',
        ok: false,
        detail: `could not lower ann_exact_max_rows in a rolled-back transaction (${error.message}): connect as a superuser or memory_maintainer`,
        tree: [],
        indexes: [],
      },
      lexical,
    ];
  }
}
