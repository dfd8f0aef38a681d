-- Live settings. Known keys only, each with its type and range, so a typo cannot silently do
-- nothing. A change fires NOTIFY memory_settings (statement trigger) and every daemon re-reads.
create or replace function memory.validate_setting(p_key text, p_value jsonb)
returns void
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  case p_key
    when 'rerank_enabled' then
      if jsonb_typeof(p_value) <> 'boolean' then
        raise exception 'rerank_enabled must be true or false' using errcode = 'MV006';
      end if;
    when 'active_kek_id' then
      if jsonb_typeof(p_value) <> 'number' or (p_value #>> '{}') !~ '^\d+$' or p_value::bigint < 1 or p_value::bigint > 2147483647 then
        raise exception 'active_kek_id must be a key id (a positive integer)' using errcode = 'MV006';
      end if;
    when 'rerank_circuit_ms', 'ann_ef_search', 'rerank_rollout_percent', 'ann_exact_max_rows' then
      if jsonb_typeof(p_value) <> 'number' or (p_value #>> '{}') !~ '^\d+$'
         or (p_key = 'ann_exact_max_rows' and p_value::bigint > 1000000)
         or (p_key = 'rerank_circuit_ms' and (p_value::int < 1 or p_value::int > 60000))
         or (p_key = 'ann_ef_search' and (p_value::int < 10 or p_value::int > 1000))
         or (p_key = 'rerank_rollout_percent' and p_value::int > 100) then
        raise exception '% must be an integer in its range (rerank_circuit_ms 1-60000, ann_ef_search 10-1000, rerank_rollout_percent 0-100, ann_exact_max_rows 0-1000000)', p_key
          using errcode = 'MV006';
      end if;
    when 'ann_iterative_scan' then
      if p_value #>> '{}' not in ('off', 'relaxed_order', 'strict_order') or jsonb_typeof(p_value) <> 'string' then
        raise exception 'ann_iterative_scan must be "off", "relaxed_order" or "strict_order"' using errcode = 'MV006';
      end if;
    when 'bm25_k1', 'bm25_b', 'hybrid_lexical_weight' then
      if jsonb_typeof(p_value) <> 'number'
         or (p_key = 'bm25_k1' and (p_value::float8 < 0 or p_value::float8 > 10))
         or (p_key <> 'bm25_k1' and (p_value::float8 < 0 or p_value::float8 > 1)) then
        raise exception '% must be a number in its range (bm25_k1 0-10, bm25_b 0-1, hybrid_lexical_weight 0-1)', p_key using errcode = 'MV006';
      end if;
    when 'rescore_overfetch' then
      if jsonb_typeof(p_value) <> 'number' or p_value::float8 < 1 or p_value::float8 > 10 then
        raise exception 'rescore_overfetch must be a number from 1 to 10' using errcode = 'MV006';
      end if;
    when 'vector_noise' then
      if jsonb_typeof(p_value) <> 'number' or p_value::float8 < 0 or p_value::float8 > 1 then
        raise exception 'vector_noise must be a number from 0 to 1' using errcode = 'MV006';
      end if;
    when 'retrieval_mode' then
      if jsonb_typeof(p_value) <> 'string' or p_value #>> '{}' not in ('hybrid', 'dense', 'lexical') then
        raise exception 'retrieval_mode must be "hybrid", "dense" or "lexical"' using errcode = 'MV006';
      end if;
    else
      raise exception 'unknown setting %', p_key using errcode = 'MV005';
  end case;
end;
$$;

create or replace function memory.set_setting(p_key text, p_value jsonb)
returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.validate_setting(p_key, p_value);
  -- The same refusal as memory.set_active_kek: a retired key-ring key may not become the active
  -- one through the generic setter either (MV011).
  if p_key = 'active_kek_id' then
    perform memory.assert_kek_usable((p_value #>> '{}')::integer);
  end if;
  -- updated_at comes from the _100_touch_updated_at trigger: Citus refuses a non-immutable
  -- function (now()) in ON CONFLICT DO UPDATE on a reference table (db/citus/distribute.sql).
  insert into memory.settings (key, value) values (p_key, p_value)
  on conflict (key) do update set value = excluded.value;
end;
$$;

-- Removes an override: the daemons fall back to their environment defaults.
create or replace function memory.reset_setting(p_key text)
returns boolean
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  delete from memory.settings where key = p_key;
  return found;
end;
$$;

create or replace function memory.get_settings()
returns table (key text, value jsonb, updated_at timestamptz)
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
  select s.key, s.value, s.updated_at from memory.settings s order by s.key;
$$;
