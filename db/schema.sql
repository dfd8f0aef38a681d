--
-- PostgreSQL database dump
--

--
-- Name: memory; Type: SCHEMA; Schema: -; Owner: memory_owner
--

CREATE SCHEMA memory;

ALTER SCHEMA memory OWNER TO memory_owner;

--
-- Name: SCHEMA memory; Type: COMMENT; Schema: -; Owner: memory_owner
--

COMMENT ON SCHEMA memory IS 'memvault: sealed long-term memory; the procedures are the interface, tables are private';

--
-- Name: add_tenant_key(text, integer, bytea, integer); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.add_tenant_key(p_user_hash text, p_dek_id integer, p_wrapped_dek bytea, p_kek_id integer) RETURNS TABLE(dek_id integer, wrapped_dek bytea, kek_id integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  perform memory.set_tenant(p_user_hash);
  if p_dek_id is null or p_wrapped_dek is null or p_kek_id is null then
    raise exception 'dek_id, wrapped_dek and kek_id are required' using errcode = 'MV002';
  end if;
  -- A daemon still configured with a retired key fails here (MV011) rather than wrap under it.
  perform memory.assert_kek_usable(p_kek_id);
  -- A new tenant's first key registers its proof verifier (from memory.set_tenant's proof).
  perform memory.register_tenant_proof(p_user_hash);
  insert into memory.tenant_keys (user_hash, dek_id, wrapped_dek, kek_id, active)
  values (p_user_hash, p_dek_id, p_wrapped_dek, p_kek_id, true)
  on conflict (user_hash) where active do nothing;
  return query
    select k.dek_id, k.wrapped_dek, k.kek_id from memory.tenant_keys k
    where k.user_hash = p_user_hash and k.active;
end;
$$;

ALTER FUNCTION memory.add_tenant_key(p_user_hash text, p_dek_id integer, p_wrapped_dek bytea, p_kek_id integer) OWNER TO memory_owner;

--
-- Name: add_tenant_key_in_maintenance(text, integer, bytea, integer); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.add_tenant_key_in_maintenance(p_user_hash text, p_dek_id integer, p_wrapped_dek bytea, p_kek_id integer) RETURNS TABLE(dek_id integer, wrapped_dek bytea, kek_id integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
begin
  perform memory.begin_maintenance();
  if p_user_hash is null or p_user_hash !~ '^[0-9a-f]{64}$' then
    raise exception 'user_hash must be 64 lowercase hex characters' using errcode = 'MV001';
  end if;
  if p_dek_id is null or p_wrapped_dek is null or p_kek_id is null then
    raise exception 'dek_id, wrapped_dek and kek_id are required' using errcode = 'MV002';
  end if;
  perform memory.assert_kek_usable(p_kek_id);
  insert into memory.tenant_keys (user_hash, dek_id, wrapped_dek, kek_id, active)
  values (p_user_hash, p_dek_id, p_wrapped_dek, p_kek_id, true)
  on conflict (user_hash) where active do nothing;
  return query
    select k.dek_id, k.wrapped_dek, k.kek_id from memory.tenant_keys k
    where k.user_hash = p_user_hash and k.active;
end;
$_$;

ALTER FUNCTION memory.add_tenant_key_in_maintenance(p_user_hash text, p_dek_id integer, p_wrapped_dek bytea, p_kek_id integer) OWNER TO memory_owner;

--
-- Name: apply_ann_settings(); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.apply_ann_settings() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  v_ef text;
  v_mode text;
begin
  select (select value #>> '{}' from memory.settings where key = 'ann_ef_search'),
         (select value #>> '{}' from memory.settings where key = 'ann_iterative_scan')
    into v_ef, v_mode;
  perform set_config('hnsw.ef_search', coalesce(v_ef, '400'), true);
  perform set_config('hnsw.iterative_scan', coalesce(v_mode, 'relaxed_order'), true);
end;
$$;

ALTER FUNCTION memory.apply_ann_settings() OWNER TO memory_owner;

--
-- Name: assert_kek_usable(integer); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.assert_kek_usable(p_kek_id integer) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  if p_kek_id is null or p_kek_id < 1 then
    raise exception 'kek_id must be a key id (a positive integer)' using errcode = 'MV002';
  end if;
  perform pg_advisory_xact_lock_shared(1836477291, p_kek_id);
  if exists (select from memory.retired_keks r where r.kek_id = p_kek_id) then
    -- DETAIL carries the id for src/db/errors.ts, which maps MV011 to KeyRetiredError.
    raise exception 'key-ring key % is retired: nothing may be wrapped or sealed under it', p_kek_id
      using errcode = 'MV011', detail = format('kek_id=%s', p_kek_id);
  end if;
end;
$$;

ALTER FUNCTION memory.assert_kek_usable(p_kek_id integer) OWNER TO memory_owner;

--
-- Name: assert_lexical_batch(text, integer, integer[], integer[], bigint[], integer[], integer, smallint); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.assert_lexical_batch(p_user_hash text, p_chunk_count integer, p_lengths integer[], p_chunks integer[], p_tokens bigint[], p_tfs integer[], p_term_key_id integer, p_analyzer_version smallint) RETURNS void
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  perform memory.assert_lexical_batch_shape(p_chunk_count, p_lengths, p_chunks, p_tokens, p_tfs, p_analyzer_version);
  if p_term_key_id is null or not exists (
       select from memory.tenant_keys k where k.user_hash = p_user_hash and k.dek_id = p_term_key_id and k.active) then
    raise exception 'term key % is not the tenant''s active data key', p_term_key_id using errcode = 'MV010';
  end if;
end;
$$;

ALTER FUNCTION memory.assert_lexical_batch(p_user_hash text, p_chunk_count integer, p_lengths integer[], p_chunks integer[], p_tokens bigint[], p_tfs integer[], p_term_key_id integer, p_analyzer_version smallint) OWNER TO memory_owner;

--
-- Name: assert_lexical_batch_shape(integer, integer[], integer[], bigint[], integer[], smallint); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.assert_lexical_batch_shape(p_chunk_count integer, p_lengths integer[], p_chunks integer[], p_tokens bigint[], p_tfs integer[], p_analyzer_version smallint) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  if coalesce(cardinality(p_lengths), -1) <> p_chunk_count
     or coalesce(cardinality(p_chunks), -1) <> coalesce(cardinality(p_tokens), -2)
     or coalesce(cardinality(p_tfs), -1) <> coalesce(cardinality(p_tokens), -2) then
    raise exception 'lexical arrays differ in length' using errcode = 'MV003';
  end if;
  if p_analyzer_version is null or p_analyzer_version < 1
     or exists (select from unnest(p_lengths) l where l is null or l < 0)
     or exists (select from unnest(p_chunks, p_tokens, p_tfs) as u(chunk, token, tf)
                where u.chunk is null or u.chunk not between 1 and p_chunk_count or u.token is null or u.tf is null or u.tf < 1) then
    raise exception 'lexical index: lengths >= 0, postings (chunk 1..n, token, tf >= 1) and the analyzer version are required'
      using errcode = 'MV002';
  end if;
end;
$$;

ALTER FUNCTION memory.assert_lexical_batch_shape(p_chunk_count integer, p_lengths integer[], p_chunks integer[], p_tokens bigint[], p_tfs integer[], p_analyzer_version smallint) OWNER TO memory_owner;

--
-- Name: assert_search_arguments(public.vector, integer); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.assert_search_arguments(p_embedding public.vector, p_limit integer) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  if p_embedding is null then
    raise exception 'embedding is required' using errcode = 'MV002';
  end if;
  if public.vector_dims(p_embedding) <> memory.embedding_dim() then
    raise exception 'embedding has % dimensions, the schema has %', public.vector_dims(p_embedding), memory.embedding_dim()
      using errcode = 'MV008';
  end if;
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception 'limit must be between 1 and 1000' using errcode = 'MV007';
  end if;
end;
$$;

ALTER FUNCTION memory.assert_search_arguments(p_embedding public.vector, p_limit integer) OWNER TO memory_owner;

--
-- Name: assert_tenant_proof(text); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.assert_tenant_proof(p_user_hash text) RETURNS void
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
declare
  v_verifier bytea;
  v_proof text := current_setting('memory.tenant_proof', true);
begin
  select p.verifier into v_verifier from memory.tenant_proofs p where p.user_hash = p_user_hash;
  if v_verifier is not null then
    if v_proof is null or v_proof !~ '^[0-9a-f]{64}$' or sha256(decode(v_proof, 'hex')) <> v_verifier then
      raise exception 'the tenant proof is missing or does not match' using errcode = 'MV014';
    end if;
  elsif memory.tenant_proofs_required() then
    -- One table per statement: on Citus each is a router query on the tenant's own shards.
    if exists (select from memory.tenant_keys k where k.user_hash = p_user_hash) then
      raise exception 'the tenant has no proof verifier (run memvault tenants prove)' using errcode = 'MV014';
    end if;
    if exists (select from memory.memory_chunks c where c.user_hash = p_user_hash) then
      raise exception 'the tenant has no proof verifier (run memvault tenants prove)' using errcode = 'MV014';
    end if;
  end if;
end;
$_$;

ALTER FUNCTION memory.assert_tenant_proof(p_user_hash text) OWNER TO memory_owner;

--
-- Name: begin_maintenance(); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.begin_maintenance() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  if not pg_has_role(session_user, 'memory_maintainer', 'member') then
    raise exception 'maintenance procedures need a memory_maintainer session' using errcode = 'MV009';
  end if;
  if coalesce(current_setting('memory.user_hash', true), '') <> '' then
    raise exception 'this transaction already acts for a tenant' using errcode = 'MV004';
  end if;
  -- On Citus the tenant tables' shards live on the workers, which Citus reaches as memory_owner
  -- in a session that carries neither this mode nor a maintainer login: the policy would hide every
  -- row there and a key job would report work done that it never did (and a KEK still in use could
  -- pass as retirable). Refused until maintenance runs per worker (docs/DEPLOYMENT.md "Citus").
  if exists (select from pg_catalog.pg_extension where extname = 'citus') then
    raise exception 'maintenance across tenants is not supported on Citus yet' using errcode = 'MV013';
  end if;
  perform set_config('memory.maintenance', 'on', true);
end;
$$;

ALTER FUNCTION memory.begin_maintenance() OWNER TO memory_owner;

--
-- Name: bm25_parameters(); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.bm25_parameters(OUT k1 double precision, OUT b double precision) RETURNS record
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select coalesce((select (s.value #>> '{}')::float8 from memory.settings s where s.key = 'bm25_k1'), 1.2),
         coalesce((select (s.value #>> '{}')::float8 from memory.settings s where s.key = 'bm25_b'), 0.75);
$$;

ALTER FUNCTION memory.bm25_parameters(OUT k1 double precision, OUT b double precision) OWNER TO memory_owner;

--
-- Name: claim_dek_rewrap(integer, integer); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.claim_dek_rewrap(p_target_kek_id integer, p_limit integer) RETURNS TABLE(user_hash text, dek_id integer, wrapped_dek bytea, kek_id integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  perform memory.begin_maintenance();
  return query
    select k.user_hash, k.dek_id, k.wrapped_dek, k.kek_id
    from memory.tenant_keys k
    where k.kek_id <> p_target_kek_id
    limit p_limit
    for update skip locked;
end;
$$;

ALTER FUNCTION memory.claim_dek_rewrap(p_target_kek_id integer, p_limit integer) OWNER TO memory_owner;

--
-- Name: claim_idempotency_key(text, bytea, bytea); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.claim_idempotency_key(p_user_hash text, p_key_digest bytea, p_request_digest bytea) RETURNS TABLE(fresh boolean, request_digest bytea, status integer, response jsonb)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  perform memory.set_tenant(p_user_hash);
  if p_key_digest is null or length(p_key_digest) <> 32 or p_request_digest is null or length(p_request_digest) <> 32 then
    raise exception 'key and request digests of 32 bytes are required' using errcode = 'MV002';
  end if;
  delete from memory.idempotency_keys i
   where i.user_hash = p_user_hash
     and (i.user_hash, i.key_digest) in (
       select e.user_hash, e.key_digest from memory.idempotency_keys e
       where e.user_hash = p_user_hash and e.expires_at <= now()
       limit 100);
  insert into memory.idempotency_keys (user_hash, key_digest, request_digest)
  values (p_user_hash, p_key_digest, p_request_digest)
  on conflict on constraint idempotency_keys_pkey do nothing;
  if found then
    return query select true, p_request_digest, null::integer, null::jsonb;
    return;
  end if;
  -- The row of a committed first attempt (a fresh statement snapshot sees it).
  return query
    select false, i.request_digest, i.status, i.response
    from memory.idempotency_keys i
    where i.user_hash = p_user_hash and i.key_digest = p_key_digest;
end;
$$;

ALTER FUNCTION memory.claim_idempotency_key(p_user_hash text, p_key_digest bytea, p_request_digest bytea) OWNER TO memory_owner;

--
-- Name: claim_lexical_reindex(integer, smallint, text, text, uuid); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.claim_lexical_reindex(p_limit integer, p_analyzer_version smallint, p_user_hash text DEFAULT NULL::text, p_after_hash text DEFAULT ''::text, p_after_id uuid DEFAULT '00000000-0000-0000-0000-000000000000'::uuid) RETURNS TABLE(user_hash text, id uuid, doc_id text, source text, text_cipher bytea, key_id integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  perform memory.begin_maintenance();
  return query
    -- doc_id and source: a version-3 blob's AAD binds them.
    select c.user_hash, c.id, c.doc_id, c.source, c.text_cipher, c.key_id
    from memory.memory_chunks c
    where (p_user_hash is null or c.user_hash = p_user_hash)
      and (c.user_hash, c.id) > (coalesce(p_after_hash, ''), coalesce(p_after_id, '00000000-0000-0000-0000-000000000000'::uuid))
      and not exists (
        select from memory.lexical_chunks l
        join memory.tenant_keys k on k.user_hash = l.user_hash and k.dek_id = l.term_key_id and k.active
        where l.user_hash = c.user_hash and l.chunk_id = c.id and l.analyzer_version = p_analyzer_version)
    order by c.user_hash, c.id
    limit p_limit
    for update of c skip locked;
end;
$$;

ALTER FUNCTION memory.claim_lexical_reindex(p_limit integer, p_analyzer_version smallint, p_user_hash text, p_after_hash text, p_after_id uuid) OWNER TO memory_owner;

--
-- Name: claim_reseal(integer, text, text, uuid); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.claim_reseal(p_limit integer, p_user_hash text DEFAULT NULL::text, p_after_hash text DEFAULT ''::text, p_after_id uuid DEFAULT '00000000-0000-0000-0000-000000000000'::uuid) RETURNS TABLE(user_hash text, id uuid, doc_id text, source text, text_cipher bytea, meta_cipher bytea, emb_cipher bytea, key_scheme smallint, key_id integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  perform memory.begin_maintenance();
  return query
    select c.user_hash, c.id, c.doc_id, c.source, c.text_cipher, c.meta_cipher, c.emb_cipher, c.key_scheme, c.key_id
    from memory.memory_chunks c
    where (p_user_hash is null or c.user_hash = p_user_hash)
      and (c.user_hash, c.id) > (coalesce(p_after_hash, ''), coalesce(p_after_id, '00000000-0000-0000-0000-000000000000'::uuid))
      and (c.key_scheme = 1 or get_byte(c.text_cipher, 0) <> 3 or not exists (
            select from memory.tenant_keys k
            where k.user_hash = c.user_hash and k.dek_id = c.key_id and k.active))
    order by c.user_hash, c.id
    limit p_limit
    for update of c skip locked;
end;
$$;

ALTER FUNCTION memory.claim_reseal(p_limit integer, p_user_hash text, p_after_hash text, p_after_id uuid) OWNER TO memory_owner;

--
-- Name: claim_tenant_proofs(integer, text); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.claim_tenant_proofs(p_limit integer, p_after_hash text DEFAULT ''::text) RETURNS TABLE(user_hash text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  perform memory.begin_maintenance();
  return query
    select t.user_hash from (
      select k.user_hash from memory.tenant_keys k where k.user_hash > coalesce(p_after_hash, '')
      union
      select c.user_hash from memory.memory_chunks c where c.user_hash > coalesce(p_after_hash, '')
    ) t
    where not exists (select from memory.tenant_proofs p where p.user_hash = t.user_hash)
    order by t.user_hash
    limit p_limit;
end;
$$;

ALTER FUNCTION memory.claim_tenant_proofs(p_limit integer, p_after_hash text) OWNER TO memory_owner;

--
-- Name: claim_vector_backfill(integer, text, text, uuid); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.claim_vector_backfill(p_limit integer, p_user_hash text DEFAULT NULL::text, p_after_hash text DEFAULT ''::text, p_after_id uuid DEFAULT '00000000-0000-0000-0000-000000000000'::uuid) RETURNS TABLE(user_hash text, id uuid, doc_id text, source text, emb_cipher bytea, key_scheme smallint, key_id integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  perform memory.begin_maintenance();
  return query
    -- doc_id and source: a version-3 blob's AAD binds them.
    select c.user_hash, c.id, c.doc_id, c.source, c.emb_cipher, c.key_scheme, c.key_id
    from memory.memory_chunks c
    where (p_user_hash is null or c.user_hash = p_user_hash)
      and (c.user_hash, c.id) > (coalesce(p_after_hash, ''), coalesce(p_after_id, '00000000-0000-0000-0000-000000000000'::uuid))
      and (
        -- A clear copy left in the wide row (written before protected vectors, or by the previous
        -- release's logic after a rollback).
        c.embedding is not null
        -- No search vector, a clear one, or one protected under a key that is not the tenant's
        -- active data key (`reseal --tenant` replaced it).
        or not exists (
          select from memory.chunk_vectors v
          join memory.tenant_keys k on k.user_hash = v.user_hash and k.dek_id = v.vector_key_id and k.active
          where v.user_hash = c.user_hash and v.id = c.id and v.vector_scheme = 1))
    order by c.user_hash, c.id
    limit p_limit
    for update of c skip locked;
end;
$$;

ALTER FUNCTION memory.claim_vector_backfill(p_limit integer, p_user_hash text, p_after_hash text, p_after_id uuid) OWNER TO memory_owner;

--
-- Name: delete_chunk(text, uuid, bigint); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.delete_chunk(p_user_hash text, p_id uuid, p_expected_version bigint DEFAULT NULL::bigint) RETURNS TABLE(status text, version bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  v_version bigint;
begin
  perform memory.set_tenant(p_user_hash);
  if p_id is null then
    raise exception 'id is required' using errcode = 'MV002';
  end if;
  delete from memory.memory_chunks c
   where c.user_hash = p_user_hash and c.id = p_id
     and (p_expected_version is null or c.version = p_expected_version)
  returning c.version into v_version;
  if found then
    perform memory.notify_event('chunk_deleted', p_user_hash, 1, array[p_id]);
    return query select 'deleted'::text, v_version;
    return;
  end if;
  return query
    select 'version_mismatch'::text, c.version from memory.memory_chunks c
    where c.user_hash = p_user_hash and c.id = p_id;
  if not found then
    return query select 'not_found'::text, null::bigint;
  end if;
end;
$$;

ALTER FUNCTION memory.delete_chunk(p_user_hash text, p_id uuid, p_expected_version bigint) OWNER TO memory_owner;

--
-- Name: delete_doc(text, text); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.delete_doc(p_user_hash text, p_doc_id text) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  v_deleted integer;
begin
  perform memory.set_tenant(p_user_hash);
  if p_doc_id is null or length(p_doc_id) not between 1 and 256 then
    raise exception 'doc_id must be 1 to 256 characters' using errcode = 'MV002';
  end if;
  delete from memory.memory_chunks c where c.user_hash = p_user_hash and c.doc_id = p_doc_id;
  get diagnostics v_deleted = row_count;
  if v_deleted > 0 then
    perform memory.notify_event('doc_deleted', p_user_hash, v_deleted);
  end if;
  return v_deleted;
end;
$$;

ALTER FUNCTION memory.delete_doc(p_user_hash text, p_doc_id text) OWNER TO memory_owner;

--
-- Name: dense_search_sql(boolean, boolean, boolean, boolean); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.dense_search_sql(p_has_doc_id boolean, p_has_source boolean, p_exact boolean, p_narrow boolean) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
  with distance(expr) as (
    -- In the exact shape `+ 0` makes the sort key an expression no index provides; the select list
    -- and ORDER BY use the same expression, so it is computed once per row.
    select case when p_exact then '(v.embedding operator(public.<=>) $2) + 0' else 'v.embedding operator(public.<=>) $2' end
  ),
  filters(expr) as (
    select case
      when not (p_has_doc_id or p_has_source) then ''
      when not p_narrow then
        case when p_has_doc_id then ' and v.doc_id = $4' else '' end
        || case when p_has_source then ' and v.source = $5' else '' end
      else ' and exists (select from memory.memory_chunks f where f.user_hash = $1 and f.id = v.id'
        || case when p_has_doc_id then ' and f.doc_id = $4' else '' end
        || case when p_has_source then ' and f.source = $5' else '' end
        || ')'
    end
  )
  select 'with nearest as materialized ('
    || ' select v.id, ' || d.expr || ' as distance'
    || case when p_narrow then ' from memory.chunk_vectors v' else ' from memory.memory_chunks v' end
    || ' where v.user_hash = $1' || f.expr
    || ' order by ' || d.expr
    || ' limit $3)'
    || ' select c.id, c.doc_id, c.source, c.text_cipher, c.meta_cipher, c.emb_cipher, c.key_id, n.distance::float8 as distance,'
    || ' c.created_at, c.updated_at'
    || ' from nearest n join memory.memory_chunks c on c.user_hash = $1 and c.id = n.id'
    || ' order by n.distance, n.id'
  from distance d, filters f;
$_$;

ALTER FUNCTION memory.dense_search_sql(p_has_doc_id boolean, p_has_source boolean, p_exact boolean, p_narrow boolean) OWNER TO memory_owner;

--
-- Name: dense_search_sql_filtered(boolean, boolean, boolean, boolean, jsonb); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.dense_search_sql_filtered(p_has_doc_id boolean, p_has_source boolean, p_exact boolean, p_narrow boolean, p_filter jsonb) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
declare
  v_sql text := memory.dense_search_sql(p_has_doc_id, p_has_source, p_exact, p_narrow);
  v_filtered text;
begin
  if p_filter is null then
    return v_sql;
  end if;
  v_filtered := replace(v_sql, ' where v.user_hash = $1', ' where v.user_hash = $1 and ' ||
    case when p_narrow
      then 'exists (select from memory.memory_chunks ff where ff.user_hash = $1 and ff.id = v.id and '
           || memory.filter_predicate(p_filter, 'ff') || ')'
      else memory.filter_predicate(p_filter, 'v') end);
  -- Never run the query without the filter: if the query text changed shape, fail loudly.
  if v_filtered = v_sql then
    raise exception 'dense_search_sql_filtered: the search query has no tenant condition to extend' using errcode = 'XX000';
  end if;
  return v_filtered;
end;
$_$;

ALTER FUNCTION memory.dense_search_sql_filtered(p_has_doc_id boolean, p_has_source boolean, p_exact boolean, p_narrow boolean, p_filter jsonb) OWNER TO memory_owner;

--
-- Name: drop_retired_tenant_keys(text); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.drop_retired_tenant_keys(p_user_hash text DEFAULT NULL::text) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  v_n integer;
begin
  perform memory.begin_maintenance();
  delete from memory.tenant_keys k
   where not k.active
     and (p_user_hash is null or k.user_hash = p_user_hash)
     and not exists (select from memory.memory_chunks c
                     where c.user_hash = k.user_hash and c.key_scheme = 2 and c.key_id = k.dek_id);
  get diagnostics v_n = row_count;
  return v_n;
end;
$$;

ALTER FUNCTION memory.drop_retired_tenant_keys(p_user_hash text) OWNER TO memory_owner;

--
-- Name: embedding_dim(); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.embedding_dim() RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$ select 384 $$;

ALTER FUNCTION memory.embedding_dim() OWNER TO memory_owner;

--
-- Name: enter_tenant(text, boolean); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.enter_tenant(p_user_hash text, p_exclusive boolean) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
declare
  v_key bigint;
begin
  if p_user_hash is null or p_user_hash !~ '^[0-9a-f]{64}$' then
    raise exception 'user_hash must be 64 lowercase hex characters' using errcode = 'MV001';
  end if;
  if coalesce(current_setting('memory.maintenance', true), '') = 'on' then
    raise exception 'this transaction is in maintenance mode' using errcode = 'MV004';
  end if;
  v_key := memory.tenant_lock_key(p_user_hash);
  -- Single-bigint advisory locks (objsubid 1) are reserved for tenants (db/CONVENTIONS.md).
  if exists (
       select from pg_catalog.pg_locks l
       where l.pid = pg_catalog.pg_backend_pid() and l.locktype = 'advisory' and l.objsubid = 1
         and (l.classid::bigint <> ((v_key >> 32) & 4294967295) or l.objid::bigint <> (v_key & 4294967295))) then
    raise exception 'this transaction already acts for another tenant' using errcode = 'MV004';
  end if;
  if p_exclusive then
    perform pg_catalog.pg_advisory_xact_lock(v_key);
  else
    perform pg_catalog.pg_advisory_xact_lock_shared(v_key);
  end if;
  perform set_config('memory.user_hash', p_user_hash, true);
  -- The hash alone does not let a caller act for the tenant: it needs the tenant's proof too
  -- (db/functions/tenant_proof.sql), read after the context is set so RLS lets the check see the
  -- tenant's verifier.
  perform memory.assert_tenant_proof(p_user_hash);
end;
$_$;

ALTER FUNCTION memory.enter_tenant(p_user_hash text, p_exclusive boolean) OWNER TO memory_owner;

--
-- Name: envelope_key_id(bytea); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.envelope_key_id(p_blob bytea) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select ((get_byte(p_blob, 1)::bigint << 24) | (get_byte(p_blob, 2) << 16) | (get_byte(p_blob, 3) << 8)
          | get_byte(p_blob, 4))::integer;
$$;

ALTER FUNCTION memory.envelope_key_id(p_blob bytea) OWNER TO memory_owner;

--
-- Name: explain_lookup(text); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.explain_lookup(p_user_hash text) RETURNS TABLE(lookup text, plan json)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
declare
  v_plan json;
begin
  perform memory.set_tenant(p_user_hash);
  execute 'explain (format json) select * from memory.memory_chunks where user_hash = $1 and id = any($2)'
    into v_plan using p_user_hash, array[gen_random_uuid()];
  lookup := 'by_id'; plan := v_plan; return next;
  execute 'explain (format json) select * from memory.memory_chunks where user_hash = $1 and doc_id = $2'
    into v_plan using p_user_hash, 'doc';
  lookup := 'by_doc'; plan := v_plan; return next;
end;
$_$;

ALTER FUNCTION memory.explain_lookup(p_user_hash text) OWNER TO memory_owner;

--
-- Name: explain_search(text, public.vector, integer, boolean); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.explain_search(p_user_hash text, p_embedding public.vector, p_limit integer DEFAULT 24, p_analyze boolean DEFAULT false) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  v_plan json;
  v_narrow boolean;
  v_sql text;
begin
  perform memory.set_tenant(p_user_hash);
  perform memory.apply_ann_settings();
  v_narrow := memory.search_layout() = 'vectors';
  v_sql := 'explain (format json, analyze ' || case when p_analyze then 'true' else 'false' end || ') '
    || memory.dense_search_sql(false, false, memory.search_is_exact(p_user_hash), v_narrow);
  if v_narrow then
    execute v_sql into v_plan using p_user_hash, p_embedding::public.halfvec, p_limit, null::text, null::text;
  else
    execute v_sql into v_plan using p_user_hash, p_embedding, p_limit, null::text, null::text;
  end if;
  return v_plan;
end;
$$;

ALTER FUNCTION memory.explain_search(p_user_hash text, p_embedding public.vector, p_limit integer, p_analyze boolean) OWNER TO memory_owner;

--
-- Name: explain_search_lexical(text, bigint[], integer, boolean); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.explain_search_lexical(p_user_hash text, p_tokens bigint[], p_limit integer DEFAULT 24, p_analyze boolean DEFAULT false) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  v_params record := memory.bm25_parameters();
  v_plan json;
begin
  perform memory.set_tenant(p_user_hash);
  execute 'explain (format json, analyze ' || case when p_analyze then 'true' else 'false' end || ') ' || memory.search_lexical_sql(false, false)
    into v_plan
    using p_user_hash, p_tokens, p_limit, null::text, null::text, v_params.k1, v_params.b;
  return v_plan;
end;
$$;

ALTER FUNCTION memory.explain_search_lexical(p_user_hash text, p_tokens bigint[], p_limit integer, p_analyze boolean) OWNER TO memory_owner;

--
-- Name: filter_backlog(text, integer); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.filter_backlog(p_user_hash text, p_limit integer) RETURNS TABLE(key_id integer, id uuid, doc_id text, source text, meta_cipher bytea)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  v_key integer;
begin
  perform memory.set_tenant(p_user_hash);
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception 'limit must be between 1 and 1000' using errcode = 'MV007';
  end if;
  select k.dek_id into v_key from memory.tenant_keys k where k.user_hash = p_user_hash and k.active;
  if v_key is null then
    return;
  end if;
  return query
    -- doc_id and source: a version-3 blob's AAD binds them, so the daemon needs them to open it.
    select v_key, b.id, b.doc_id, b.source, b.meta_cipher from (
      (select c.id, c.doc_id, c.source, c.meta_cipher from memory.memory_chunks c
        where c.user_hash = p_user_hash and c.filter_key_id is null limit p_limit)
      union all
      (select c.id, c.doc_id, c.source, c.meta_cipher from memory.memory_chunks c
        where c.user_hash = p_user_hash and c.filter_key_id < v_key limit p_limit)
      union all
      (select c.id, c.doc_id, c.source, c.meta_cipher from memory.memory_chunks c
        where c.user_hash = p_user_hash and c.filter_key_id > v_key limit p_limit)
      limit p_limit) b;
  if not found then
    return query select v_key, null::uuid, null::text, null::text, null::bytea;
  end if;
end;
$$;

ALTER FUNCTION memory.filter_backlog(p_user_hash text, p_limit integer) OWNER TO memory_owner;

--
-- Name: filter_predicate(jsonb, text, integer); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.filter_predicate(p_filter jsonb, p_alias text, p_depth integer DEFAULT 0) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  v_parts text[];
  v_tokens bigint[];
  v_op text;
begin
  if p_depth > 16 or p_filter is null or jsonb_typeof(p_filter) <> 'object' then
    raise exception 'filter: an object, nested at most 16 deep' using errcode = 'MV002';
  end if;
  if p_filter ? 'any' and jsonb_typeof(p_filter -> 'any') = 'array' and jsonb_array_length(p_filter -> 'any') > 0 then
    select array_agg(t::bigint) into v_tokens from jsonb_array_elements_text(p_filter -> 'any') as t;
    return format('coalesce(%I.filter_tokens && %L::bigint[], false)', p_alias, v_tokens);
  elsif (p_filter ? 'all' or p_filter ? 'either')
        and jsonb_typeof(coalesce(p_filter -> 'all', p_filter -> 'either')) = 'array'
        and jsonb_array_length(coalesce(p_filter -> 'all', p_filter -> 'either')) > 0 then
    select array_agg(memory.filter_predicate(f, p_alias, p_depth + 1))
      into v_parts
      from jsonb_array_elements(coalesce(p_filter -> 'all', p_filter -> 'either')) as f;
    return '(' || array_to_string(v_parts, case when p_filter ? 'all' then ' and ' else ' or ' end) || ')';
  elsif p_filter ? 'not' then
    return 'not ' || memory.filter_predicate(p_filter -> 'not', p_alias, p_depth + 1);
  elsif p_filter ->> 'time' in ('created_at', 'updated_at') then
    v_op := p_filter ->> 'op';
    if v_op is null or v_op not in ('>', '>=', '<', '<=') then
      raise exception 'filter: time operator must be >, >=, < or <=' using errcode = 'MV002';
    end if;
    return format('%I.%I %s %L::timestamptz', p_alias, p_filter ->> 'time', v_op, (p_filter ->> 'at')::timestamptz);
  end if;
  raise exception 'filter: unknown node' using errcode = 'MV002';
end;
$$;

ALTER FUNCTION memory.filter_predicate(p_filter jsonb, p_alias text, p_depth integer) OWNER TO memory_owner;

--
-- Name: finish_vector_backfill(); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.finish_vector_backfill() RETURNS TABLE(missing bigint, layout text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  v_missing bigint;
begin
  perform memory.begin_maintenance();
  if memory.search_layout() <> 'vectors' then
    lock table memory.memory_chunks in share mode;
    select count(*) into v_missing
    from memory.memory_chunks c
    where not exists (select from memory.chunk_vectors v where v.user_hash = c.user_hash and v.id = c.id);
    if v_missing = 0 then
      insert into memory.settings (key, value) values ('search_layout', '"vectors"')
      on conflict (key) do update set value = excluded.value, updated_at = now();
    end if;
  else
    v_missing := 0;
  end if;
  return query select v_missing, memory.search_layout();
end;
$$;

ALTER FUNCTION memory.finish_vector_backfill() OWNER TO memory_owner;

--
-- Name: forget_tenant(text); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.forget_tenant(p_user_hash text) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  v_deleted integer;
  v_dek_ids integer[];
begin
  perform memory.enter_tenant(p_user_hash, true);
  with dropped as (delete from memory.tenant_keys k where k.user_hash = p_user_hash returning k.dek_id)
  select coalesce(array_agg(dropped.dek_id), '{}') into v_dek_ids from dropped;
  delete from memory.memory_chunks c where c.user_hash = p_user_hash;
  get diagnostics v_deleted = row_count;
  delete from memory.idempotency_keys i where i.user_hash = p_user_hash;
  -- Its proof verifier too: nothing of the tenant stays (a later write starts it afresh).
  delete from memory.tenant_proofs p where p.user_hash = p_user_hash;
  perform memory.notify_keys_dropped('tenant_forgotten', v_dek_ids, v_deleted);
  return v_deleted;
end;
$$;

ALTER FUNCTION memory.forget_tenant(p_user_hash text) OWNER TO memory_owner;

--
-- Name: get_chunk(text, uuid); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.get_chunk(p_user_hash text, p_id uuid) RETURNS TABLE(id uuid, doc_id text, source text, text_cipher bytea, meta_cipher bytea, emb_cipher bytea, key_id integer, created_at timestamp with time zone, updated_at timestamp with time zone, version bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  perform memory.set_tenant(p_user_hash);
  if p_id is null then
    raise exception 'id is required' using errcode = 'MV002';
  end if;
  return query
    select c.id, c.doc_id, c.source, c.text_cipher, c.meta_cipher, c.emb_cipher, c.key_id, c.created_at, c.updated_at, c.version
    from memory.memory_chunks c
    where c.user_hash = p_user_hash and c.id = p_id;
end;
$$;

ALTER FUNCTION memory.get_chunk(p_user_hash text, p_id uuid) OWNER TO memory_owner;

--
-- Name: get_chunks(text, uuid[]); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.get_chunks(p_user_hash text, p_ids uuid[]) RETURNS TABLE(id uuid, doc_id text, source text, text_cipher bytea, meta_cipher bytea, emb_cipher bytea, key_id integer, created_at timestamp with time zone, updated_at timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  perform memory.set_tenant(p_user_hash);
  if p_ids is null or cardinality(p_ids) > 1000 then
    raise exception 'ids: 0 to 1000 ids' using errcode = 'MV002';
  end if;
  return query
    select c.id, c.doc_id, c.source, c.text_cipher, c.meta_cipher, c.emb_cipher, c.key_id, c.created_at, c.updated_at
    from memory.memory_chunks c
    where c.user_hash = p_user_hash and c.id = any (p_ids)
    order by c.id;
end;
$$;

ALTER FUNCTION memory.get_chunks(p_user_hash text, p_ids uuid[]) OWNER TO memory_owner;

--
-- Name: get_settings(); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.get_settings() RETURNS TABLE(key text, value jsonb, updated_at timestamp with time zone)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select s.key, s.value, s.updated_at from memory.settings s order by s.key;
$$;

ALTER FUNCTION memory.get_settings() OWNER TO memory_owner;

--
-- Name: get_tenant_keys(text); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.get_tenant_keys(p_user_hash text) RETURNS TABLE(dek_id integer, wrapped_dek bytea, kek_id integer, active boolean)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  perform memory.set_tenant(p_user_hash);
  return query
    select k.dek_id, k.wrapped_dek, k.kek_id, k.active
    from memory.tenant_keys k
    where k.user_hash = p_user_hash
    order by k.active desc, k.dek_id desc;
end;
$$;

ALTER FUNCTION memory.get_tenant_keys(p_user_hash text) OWNER TO memory_owner;

--
-- Name: health(); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.health() RETURNS TABLE(last_migration text, migration_count integer, embedding_dim integer, vector_version text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select (select m.filename from graphile_migrate.migrations m order by m.date desc, m.filename desc limit 1),
         (select count(*)::integer from graphile_migrate.migrations),
         memory.embedding_dim(),
         (select e.extversion from pg_extension e where e.extname = 'vector');
$$;

ALTER FUNCTION memory.health() OWNER TO memory_owner;

--
-- Name: in_maintenance(); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.in_maintenance() RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select coalesce(current_setting('memory.maintenance', true), '') = 'on'
     and pg_has_role(session_user, 'memory_maintainer', 'member');
$$;

ALTER FUNCTION memory.in_maintenance() OWNER TO memory_owner;

--
-- Name: index_chunk(text, uuid, text, text, bytea, bytea, bytea, public.vector, integer, smallint); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.index_chunk(p_user_hash text, p_id uuid, p_doc_id text, p_source text, p_text_cipher bytea, p_meta_cipher bytea, p_emb_cipher bytea, p_embedding public.vector, p_key_id integer, p_key_scheme smallint) RETURNS integer
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select memory.index_chunks(
    p_user_hash, array[p_id], array[p_doc_id], array[p_source], array[p_text_cipher],
    array[p_meta_cipher], array[p_emb_cipher], array[p_embedding], p_key_id, p_key_scheme);
$$;

ALTER FUNCTION memory.index_chunk(p_user_hash text, p_id uuid, p_doc_id text, p_source text, p_text_cipher bytea, p_meta_cipher bytea, p_emb_cipher bytea, p_embedding public.vector, p_key_id integer, p_key_scheme smallint) OWNER TO memory_owner;

--
-- Name: index_chunks(text, uuid[], text[], text[], bytea[], bytea[], bytea[], public.vector[], integer, smallint, integer[], integer[], bigint[], integer[], integer, smallint); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.index_chunks(p_user_hash text, p_ids uuid[], p_doc_ids text[], p_sources text[], p_text_ciphers bytea[], p_meta_ciphers bytea[], p_emb_ciphers bytea[], p_embeddings public.vector[], p_key_id integer, p_key_scheme smallint, p_lex_lengths integer[] DEFAULT NULL::integer[], p_lex_chunks integer[] DEFAULT NULL::integer[], p_lex_tokens bigint[] DEFAULT NULL::bigint[], p_lex_tfs integer[] DEFAULT NULL::integer[], p_term_key_id integer DEFAULT NULL::integer, p_analyzer_version smallint DEFAULT NULL::smallint) RETURNS integer
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select memory.index_chunks(p_user_hash, p_ids, p_doc_ids, p_sources, p_text_ciphers, p_meta_ciphers,
    p_emb_ciphers, p_embeddings, p_key_id, p_key_scheme, p_lex_lengths, p_lex_chunks, p_lex_tokens,
    p_lex_tfs, p_term_key_id, p_analyzer_version, 0::smallint, 0);
$$;

ALTER FUNCTION memory.index_chunks(p_user_hash text, p_ids uuid[], p_doc_ids text[], p_sources text[], p_text_ciphers bytea[], p_meta_ciphers bytea[], p_emb_ciphers bytea[], p_embeddings public.vector[], p_key_id integer, p_key_scheme smallint, p_lex_lengths integer[], p_lex_chunks integer[], p_lex_tokens bigint[], p_lex_tfs integer[], p_term_key_id integer, p_analyzer_version smallint) OWNER TO memory_owner;

--
-- Name: index_chunks(text, uuid[], text[], text[], bytea[], bytea[], bytea[], public.vector[], integer, smallint, integer[], integer[], bigint[], integer[], integer, smallint, smallint, integer); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.index_chunks(p_user_hash text, p_ids uuid[], p_doc_ids text[], p_sources text[], p_text_ciphers bytea[], p_meta_ciphers bytea[], p_emb_ciphers bytea[], p_embeddings public.vector[], p_key_id integer, p_key_scheme smallint, p_lex_lengths integer[], p_lex_chunks integer[], p_lex_tokens bigint[], p_lex_tfs integer[], p_term_key_id integer, p_analyzer_version smallint, p_vector_scheme smallint, p_vector_key_id integer) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  v_count integer := coalesce(cardinality(p_ids), 0);
  v_inserted integer;
begin
  perform memory.set_tenant(p_user_hash);
  if v_count = 0 or v_count > 1000 then
    raise exception 'a batch holds 1 to 1000 chunks, got %', v_count using errcode = 'MV002';
  end if;
  if coalesce(cardinality(p_doc_ids), -1) <> v_count
     or coalesce(cardinality(p_sources), -1) <> v_count
     or coalesce(cardinality(p_text_ciphers), -1) <> v_count
     or coalesce(cardinality(p_meta_ciphers), -1) <> v_count
     or coalesce(cardinality(p_emb_ciphers), -1) <> v_count
     or coalesce(cardinality(p_embeddings), -1) <> v_count then
    raise exception 'batch arrays differ in length' using errcode = 'MV003';
  end if;
  -- The search vectors are clear (0) or protected under the vector key of the data key that seals
  -- the batch (1): a vector key is derived from the tenant's active data key, checked below.
  if p_vector_scheme is null or p_vector_key_id is null
     or not ((p_vector_scheme = 0 and p_vector_key_id = 0)
             or (p_vector_scheme = 1 and p_key_scheme = 2 and p_vector_key_id = p_key_id)) then
    raise exception 'vector_scheme 0 with vector_key_id 0, or 1 with the sealing data key''s id' using errcode = 'MV002';
  end if;
  if p_key_id is null or p_key_scheme is null or p_key_scheme not in (1, 2) then
    raise exception 'key_id and key_scheme (1 or 2) are required' using errcode = 'MV002';
  end if;
  if array_position(p_ids, null) is not null
     or exists (select from unnest(p_doc_ids) d where d is null or length(d) not between 1 and 256)
     or exists (select from unnest(p_sources) s where s is null or length(s) > 256)
     or array_position(p_text_ciphers, null) is not null
     or array_position(p_meta_ciphers, null) is not null
     or array_position(p_emb_ciphers, null) is not null then
    raise exception 'ids, doc_ids (1-256 chars), sources (0-256 chars) and ciphertexts must be present'
      using errcode = 'MV002';
  end if;
  -- A writer holding a cached DEK that was destroyed meanwhile (tenant forgotten, key replaced
  -- elsewhere) must not seal rows nobody could open: refuse, and it re-reads the tenant's keys.
  if p_key_scheme = 2 and not exists (
       select from memory.tenant_keys k where k.user_hash = p_user_hash and k.dek_id = p_key_id and k.active) then
    raise exception 'data key % is not the tenant''s active key', p_key_id using errcode = 'MV010';
  end if;
  -- Takes the key's shared retirement lock until commit, so retire_kek cannot count this key's
  -- legacy chunks between this check and the insert (db/functions/key_retirement.sql).
  if p_key_scheme = 1 then
    perform memory.assert_kek_usable(p_key_id);
  end if;
  if p_lex_lengths is not null then
    perform memory.assert_lexical_batch(p_user_hash, v_count, p_lex_lengths, p_lex_chunks, p_lex_tokens, p_lex_tfs, p_term_key_id, p_analyzer_version);
  end if;
  if exists (select from unnest(p_embeddings) e where e is null or public.vector_dims(e) <> memory.embedding_dim()) then
    raise exception 'every embedding must have % dimensions', memory.embedding_dim() using errcode = 'MV008';
  end if;

  -- A tenant's first rows register its proof verifier (a no-op once it has one).
  perform memory.register_tenant_proof(p_user_hash);
  insert into memory.memory_chunks
    (user_hash, id, doc_id, source, text_cipher, meta_cipher, emb_cipher, embedding, key_id, key_scheme)
  select p_user_hash, u.id, u.doc_id, u.source, u.text_cipher, u.meta_cipher, u.emb_cipher,
         -- A protected batch keeps no clear copy: the exact embedding is in emb_cipher only.
         case when p_vector_scheme = 0 then u.embedding end, p_key_id, p_key_scheme
  from unnest(p_ids, p_doc_ids, p_sources, p_text_ciphers, p_meta_ciphers, p_emb_ciphers, p_embeddings)
    as u(id, doc_id, source, text_cipher, meta_cipher, emb_cipher, embedding);
  get diagnostics v_inserted = row_count;
  insert into memory.chunk_vectors (user_hash, id, embedding, vector_scheme, vector_key_id)
  select p_user_hash, u.id, u.embedding::public.halfvec, p_vector_scheme, p_vector_key_id
  from unnest(p_ids, p_embeddings) as u(id, embedding);
  if p_lex_lengths is not null then
    insert into memory.lexical_chunks (user_hash, chunk_id, length, tokens, tfs, term_key_id, analyzer_version)
    select p_user_hash, p_ids[i], p_lex_lengths[i], coalesce(t.tokens, '{}'), coalesce(t.tfs, '{}'), p_term_key_id, p_analyzer_version
    from generate_subscripts(p_ids, 1) as i
    left join memory.lexical_postings_by_chunk(p_lex_chunks, p_lex_tokens, p_lex_tfs) t on t.chunk = i;
  end if;
  return v_inserted;
end;
$$;

ALTER FUNCTION memory.index_chunks(p_user_hash text, p_ids uuid[], p_doc_ids text[], p_sources text[], p_text_ciphers bytea[], p_meta_ciphers bytea[], p_emb_ciphers bytea[], p_embeddings public.vector[], p_key_id integer, p_key_scheme smallint, p_lex_lengths integer[], p_lex_chunks integer[], p_lex_tokens bigint[], p_lex_tfs integer[], p_term_key_id integer, p_analyzer_version smallint, p_vector_scheme smallint, p_vector_key_id integer) OWNER TO memory_owner;

--
-- Name: key_stats(); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.key_stats() RETURNS TABLE(kek_id integer, wrapped_deks bigint, legacy_chunks bigint, retired boolean, computed_at timestamp with time zone)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select coalesce(s.kek_id, r.kek_id), coalesce(s.wrapped_deks, 0), coalesce(s.legacy_chunks, 0),
         r.kek_id is not null, s.computed_at
  from memory.key_stats s
  full join memory.retired_keks r on r.kek_id = s.kek_id
  order by 1;
$$;

ALTER FUNCTION memory.key_stats() OWNER TO memory_owner;

--
-- Name: key_usage(); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.key_usage() RETURNS TABLE(kek_id integer, wrapped_deks bigint, legacy_chunks bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  perform memory.begin_maintenance();
  return query
    select u.kek_id, sum(u.deks)::bigint, sum(u.chunks)::bigint
    from (
      select k.kek_id, count(*) as deks, 0::bigint as chunks from memory.tenant_keys k group by k.kek_id
      union all
      select c.key_id, 0, count(*) from memory.memory_chunks c where c.key_scheme = 1 group by c.key_id
    ) u
    group by u.kek_id
    order by u.kek_id;
end;
$$;

ALTER FUNCTION memory.key_usage() OWNER TO memory_owner;

--
-- Name: lexical_coverage(smallint); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.lexical_coverage(p_analyzer_version smallint) RETURNS TABLE(chunks bigint, current bigint, missing bigint, stale bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  perform memory.begin_maintenance();
  return query
    select count(*),
           count(*) filter (where l.chunk_id is not null and l.analyzer_version = p_analyzer_version and k.dek_id is not null),
           count(*) filter (where l.chunk_id is null),
           count(*) filter (where l.chunk_id is not null and (l.analyzer_version <> p_analyzer_version or k.dek_id is null))
    from memory.memory_chunks c
    left join memory.lexical_chunks l on l.user_hash = c.user_hash and l.chunk_id = c.id
    left join memory.tenant_keys k on k.user_hash = l.user_hash and k.dek_id = l.term_key_id and k.active;
end;
$$;

ALTER FUNCTION memory.lexical_coverage(p_analyzer_version smallint) OWNER TO memory_owner;

--
-- Name: lexical_postings_by_chunk(integer[], bigint[], integer[]); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.lexical_postings_by_chunk(p_chunks integer[], p_tokens bigint[], p_tfs integer[]) RETURNS TABLE(chunk integer, tokens bigint[], tfs integer[])
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select u.chunk, array_agg(u.token order by u.token), array_agg(u.tf order by u.token)
  from unnest(p_chunks, p_tokens, p_tfs) as u(chunk, token, tf)
  group by u.chunk;
$$;

ALTER FUNCTION memory.lexical_postings_by_chunk(p_chunks integer[], p_tokens bigint[], p_tfs integer[]) OWNER TO memory_owner;

--
-- Name: list_chunks(text, integer, text, text, bigint, uuid); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.list_chunks(p_user_hash text, p_limit integer, p_doc_id text DEFAULT NULL::text, p_source text DEFAULT NULL::text, p_before_us bigint DEFAULT NULL::bigint, p_before_id uuid DEFAULT NULL::uuid) RETURNS TABLE(id uuid, doc_id text, source text, text_cipher bytea, meta_cipher bytea, key_id integer, created_at timestamp with time zone, updated_at timestamp with time zone, version bigint, created_us bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  perform memory.set_tenant(p_user_hash);
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception 'limit must be between 1 and 1000' using errcode = 'MV007';
  end if;
  if (p_before_us is null) <> (p_before_id is null) then
    raise exception 'a cursor needs both created_at and id' using errcode = 'MV002';
  end if;
  return query
    select c.id, c.doc_id, c.source, c.text_cipher, c.meta_cipher, c.key_id, c.created_at, c.updated_at, c.version,
           (extract(epoch from c.created_at) * 1000000)::bigint
    from memory.memory_chunks c
    where c.user_hash = p_user_hash
      and (p_doc_id is null or c.doc_id = p_doc_id)
      and (p_source is null or c.source = p_source)
      and (p_before_us is null
           or (c.created_at, c.id) < (timestamptz 'epoch' + p_before_us * interval '1 microsecond', p_before_id))
    order by c.created_at desc, c.id desc
    limit p_limit;
end;
$$;

ALTER FUNCTION memory.list_chunks(p_user_hash text, p_limit integer, p_doc_id text, p_source text, p_before_us bigint, p_before_id uuid) OWNER TO memory_owner;

--
-- Name: list_chunks_filtered(text, integer, text, text, bigint, uuid, jsonb); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.list_chunks_filtered(p_user_hash text, p_limit integer, p_doc_id text, p_source text, p_before_us bigint, p_before_id uuid, p_filter jsonb) RETURNS TABLE(id uuid, doc_id text, source text, text_cipher bytea, meta_cipher bytea, key_id integer, created_at timestamp with time zone, updated_at timestamp with time zone, version bigint, created_us bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
begin
  perform memory.set_tenant(p_user_hash);
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception 'limit must be between 1 and 1000' using errcode = 'MV007';
  end if;
  if (p_before_us is null) <> (p_before_id is null) then
    raise exception 'a cursor needs both created_at and id' using errcode = 'MV002';
  end if;
  return query execute
    'select c.id, c.doc_id, c.source, c.text_cipher, c.meta_cipher, c.key_id, c.created_at, c.updated_at, c.version,'
    || ' (extract(epoch from c.created_at) * 1000000)::bigint'
    || ' from memory.memory_chunks c'
    || ' where c.user_hash = $1'
    || case when p_doc_id is not null then ' and c.doc_id = $2' else '' end
    || case when p_source is not null then ' and c.source = $3' else '' end
    || case when p_before_us is not null
         then ' and (c.created_at, c.id) < (timestamptz ''epoch'' + $4 * interval ''1 microsecond'', $5)' else '' end
    || ' and ' || memory.filter_predicate(p_filter, 'c')
    || ' order by c.created_at desc, c.id desc limit $6'
    using p_user_hash, p_doc_id, p_source, p_before_us, p_before_id, p_limit;
end;
$_$;

ALTER FUNCTION memory.list_chunks_filtered(p_user_hash text, p_limit integer, p_doc_id text, p_source text, p_before_us bigint, p_before_id uuid, p_filter jsonb) OWNER TO memory_owner;

--
-- Name: next_dek_id(); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.next_dek_id() RETURNS integer
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select nextval('memory.tenant_key_id_seq')::integer;
$$;

ALTER FUNCTION memory.next_dek_id() OWNER TO memory_owner;

--
-- Name: notify_event(text, text, integer, uuid[]); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.notify_event(p_event text, p_user_hash text, p_count integer, p_ids uuid[] DEFAULT NULL::uuid[]) RETURNS void
    LANGUAGE sql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select pg_notify('memory_events', json_build_object(
    'event', p_event,
    'count', p_count,
    'nonce', gen_random_uuid()
  )::text);
$$;

ALTER FUNCTION memory.notify_event(p_event text, p_user_hash text, p_count integer, p_ids uuid[]) OWNER TO memory_owner;

--
-- Name: notify_keys_dropped(text, integer[], integer); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.notify_keys_dropped(p_event text, p_dek_ids integer[], p_count integer) RETURNS void
    LANGUAGE sql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select pg_notify('memory_events', json_build_object(
    'event', p_event,
    'count', p_count,
    -- A NOTIFY payload must stay under 8000 bytes; a tenant has one or two DEKs.
    'dek_ids', case when cardinality(p_dek_ids) <= 100 then p_dek_ids else '{}'::integer[] end,
    'nonce', gen_random_uuid()
  )::text);
$$;

ALTER FUNCTION memory.notify_keys_dropped(p_event text, p_dek_ids integer[], p_count integer) OWNER TO memory_owner;

--
-- Name: on_citus_worker(); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.on_citus_worker() RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  v_coordinator boolean;
begin
  if not exists (select from pg_catalog.pg_extension where extname = 'citus') then
    return false;
  end if;
  execute 'select pg_catalog.citus_is_coordinator()' into v_coordinator;
  return not v_coordinator;
end;
$$;

ALTER FUNCTION memory.on_citus_worker() OWNER TO memory_owner;

--
-- Name: record_idempotent_response(text, bytea, integer, jsonb); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.record_idempotent_response(p_user_hash text, p_key_digest bytea, p_status integer, p_response jsonb) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  perform memory.set_tenant(p_user_hash);
  if p_status is null or p_status not between 200 and 299 or p_response is null then
    raise exception 'a 2xx status and a response are required' using errcode = 'MV002';
  end if;
  update memory.idempotency_keys i
     set status = p_status, response = p_response
   where i.user_hash = p_user_hash and i.key_digest = p_key_digest and i.status is null;
  if not found then
    raise exception 'no pending claim for this key' using errcode = 'MV002';
  end if;
end;
$$;

ALTER FUNCTION memory.record_idempotent_response(p_user_hash text, p_key_digest bytea, p_status integer, p_response jsonb) OWNER TO memory_owner;

--
-- Name: refresh_key_stats(); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.refresh_key_stats() RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  perform memory.begin_maintenance();
  -- Key 0 of the retirement lock class is never a KEK id (ids start at 1).
  if not pg_try_advisory_xact_lock(1836477291, 0) then
    return false;
  end if;
  delete from memory.key_stats;
  -- One definition of what needs each key: memory.key_usage(), which retire_kek's counts match.
  insert into memory.key_stats (kek_id, wrapped_deks, legacy_chunks)
  select u.kek_id, u.wrapped_deks, u.legacy_chunks from memory.key_usage() u;
  return true;
end;
$$;

ALTER FUNCTION memory.refresh_key_stats() OWNER TO memory_owner;

--
-- Name: register_tenant_proof(text); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.register_tenant_proof(p_user_hash text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
declare
  v_proof text := current_setting('memory.tenant_proof', true);
begin
  -- One table per statement: on Citus each is a router query on the tenant's own shards.
  if exists (select from memory.tenant_proofs p where p.user_hash = p_user_hash) then
    return;
  end if;
  if exists (select from memory.tenant_keys k where k.user_hash = p_user_hash) then
    return;
  end if;
  if exists (select from memory.memory_chunks c where c.user_hash = p_user_hash) then
    return;
  end if;
  if v_proof is null or v_proof !~ '^[0-9a-f]{64}$' then
    raise exception 'a new tenant needs its proof (memory.set_tenant(user_hash, proof))' using errcode = 'MV014';
  end if;
  insert into memory.tenant_proofs (user_hash, verifier)
  values (p_user_hash, sha256(decode(v_proof, 'hex')))
  on conflict (user_hash) do nothing;
end;
$_$;

ALTER FUNCTION memory.register_tenant_proof(p_user_hash text) OWNER TO memory_owner;

--
-- Name: rehash_move_chunks(text, text, uuid[], bytea[], bytea[], bytea[]); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.rehash_move_chunks(p_old_hash text, p_new_hash text, p_ids uuid[], p_text_ciphers bytea[], p_meta_ciphers bytea[], p_emb_ciphers bytea[]) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
declare
  v_n integer;
  v_kek_id integer;
begin
  perform memory.begin_maintenance();
  if p_new_hash !~ '^[0-9a-f]{64}$' or p_old_hash = p_new_hash then
    raise exception 'new user_hash must be 64 lowercase hex characters and differ from the old' using errcode = 'MV001';
  end if;
  if exists (select from unnest(p_text_ciphers, p_meta_ciphers, p_emb_ciphers) as u(text_cipher, meta_cipher, emb_cipher)
             where octet_length(u.text_cipher) < 5 or get_byte(u.text_cipher, 0) not in (1, 2, 3)
                or substring(u.meta_cipher from 1 for 5) is distinct from substring(u.text_cipher from 1 for 5)
                or substring(u.emb_cipher from 1 for 5) is distinct from substring(u.text_cipher from 1 for 5)) then
    raise exception 'the three blobs of a chunk must carry one envelope header (version 1, 2 or 3, one key id)'
      using errcode = 'MV002';
  end if;
  for v_kek_id in
    select distinct memory.envelope_key_id(t) from unnest(p_text_ciphers) t where get_byte(t, 0) = 1
  loop
    perform memory.assert_kek_usable(v_kek_id);
  end loop;
  insert into memory.memory_chunks
    (user_hash, id, doc_id, source, text_cipher, meta_cipher, emb_cipher, embedding, key_id, key_scheme, created_at)
  select p_new_hash, c.id, c.doc_id, c.source, u.text_cipher, u.meta_cipher, u.emb_cipher, c.embedding,
         -- Envelope versions 2 and 3 are both the data-key scheme (3 also binds doc_id and source).
         memory.envelope_key_id(u.text_cipher), least(get_byte(u.text_cipher, 0), 2)::smallint, c.created_at
  from unnest(p_ids, p_text_ciphers, p_meta_ciphers, p_emb_ciphers) as u(id, text_cipher, meta_cipher, emb_cipher)
  join memory.memory_chunks c on c.user_hash = p_old_hash and c.id = u.id;
  get diagnostics v_n = row_count;
  -- The lexical index moves with its chunks: its tokens are keyed under the tenant's data key,
  -- which keeps its id and material across a rehash (only its wrapping changes). Deleting the old
  -- chunks below cascades to their old index rows.
  insert into memory.lexical_chunks (user_hash, chunk_id, length, tokens, tfs, term_key_id, analyzer_version)
  select p_new_hash, l.chunk_id, l.length, l.tokens, l.tfs, l.term_key_id, l.analyzer_version
  from memory.lexical_chunks l
  join memory.memory_chunks c on c.user_hash = p_new_hash and c.id = l.chunk_id
  where l.user_hash = p_old_hash and l.chunk_id = any (p_ids);
  -- The search vectors move too (the chunk keeps its id; the old rows go with the cascade below),
  -- with their scheme: a protected vector stays valid, its vector key comes from the data key,
  -- which keeps its id and material across a rehash, and its noise from the chunk id.
  insert into memory.chunk_vectors (user_hash, id, embedding, vector_scheme, vector_key_id)
  select p_new_hash, v.id, v.embedding, v.vector_scheme, v.vector_key_id
  from memory.chunk_vectors v
  join memory.memory_chunks c on c.user_hash = p_new_hash and c.id = v.id
  where v.user_hash = p_old_hash and v.id = any (p_ids);
  delete from memory.memory_chunks c where c.user_hash = p_old_hash and c.id = any (p_ids);
  return v_n;
end;
$_$;

ALTER FUNCTION memory.rehash_move_chunks(p_old_hash text, p_new_hash text, p_ids uuid[], p_text_ciphers bytea[], p_meta_ciphers bytea[], p_emb_ciphers bytea[]) OWNER TO memory_owner;

--
-- Name: rehash_move_keys(text, text, integer[], bytea[], integer); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.rehash_move_keys(p_old_hash text, p_new_hash text, p_dek_ids integer[], p_wrapped bytea[], p_kek_id integer) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  v_n integer;
begin
  perform memory.begin_maintenance();
  perform memory.assert_kek_usable(p_kek_id);
  insert into memory.tenant_keys (user_hash, dek_id, wrapped_dek, kek_id, active, created_at)
  select p_new_hash, k.dek_id, u.wrapped, p_kek_id, k.active, k.created_at
  from unnest(p_dek_ids, p_wrapped) as u(dek_id, wrapped)
  join memory.tenant_keys k on k.user_hash = p_old_hash and k.dek_id = u.dek_id;
  get diagnostics v_n = row_count;
  delete from memory.tenant_keys k where k.user_hash = p_old_hash;
  return v_n;
end;
$$;

ALTER FUNCTION memory.rehash_move_keys(p_old_hash text, p_new_hash text, p_dek_ids integer[], p_wrapped bytea[], p_kek_id integer) OWNER TO memory_owner;

--
-- Name: rehash_move_proof(text, text, bytea); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.rehash_move_proof(p_old_hash text, p_new_hash text, p_verifier bytea) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  perform memory.begin_maintenance();
  delete from memory.tenant_proofs p where p.user_hash = p_old_hash;
  insert into memory.tenant_proofs (user_hash, verifier) values (p_new_hash, p_verifier)
  on conflict (user_hash) do update set verifier = excluded.verifier;
end;
$$;

ALTER FUNCTION memory.rehash_move_proof(p_old_hash text, p_new_hash text, p_verifier bytea) OWNER TO memory_owner;

--
-- Name: rehash_read_chunks(text, integer, uuid); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.rehash_read_chunks(p_old_hash text, p_limit integer, p_after_id uuid DEFAULT NULL::uuid) RETURNS TABLE(id uuid, doc_id text, source text, text_cipher bytea, meta_cipher bytea, emb_cipher bytea, key_scheme smallint, key_id integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  perform memory.begin_maintenance();
  return query
    select c.id, c.doc_id, c.source, c.text_cipher, c.meta_cipher, c.emb_cipher, c.key_scheme, c.key_id
    from memory.memory_chunks c
    where c.user_hash = p_old_hash
      and c.id > coalesce(p_after_id, '00000000-0000-0000-0000-000000000000'::uuid)
    order by c.id
    limit p_limit
    for update;
end;
$$;

ALTER FUNCTION memory.rehash_read_chunks(p_old_hash text, p_limit integer, p_after_id uuid) OWNER TO memory_owner;

--
-- Name: rehash_tenant_state(text); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.rehash_tenant_state(p_user_hash text) RETURNS TABLE(chunks bigint, keys bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  perform memory.begin_maintenance();
  return query
    select (select count(*) from memory.memory_chunks c where c.user_hash = p_user_hash),
           (select count(*) from memory.tenant_keys k where k.user_hash = p_user_hash);
end;
$$;

ALTER FUNCTION memory.rehash_tenant_state(p_user_hash text) OWNER TO memory_owner;

--
-- Name: require_tenant_proofs(); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.require_tenant_proofs() RETURNS TABLE(missing bigint, required boolean)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  v_missing bigint;
begin
  perform memory.begin_maintenance();
  -- Writers wait (a first write registers its verifier with its first key anyway); readers do not.
  lock table memory.tenant_keys in share mode;
  select count(*) into v_missing from (
    select k.user_hash from memory.tenant_keys k
    union
    select c.user_hash from memory.memory_chunks c
  ) t
  where not exists (select from memory.tenant_proofs p where p.user_hash = t.user_hash);
  if v_missing = 0 then
    insert into memory.settings (key, value) values ('tenant_proofs', '"required"')
    on conflict (key) do update set value = excluded.value;
  end if;
  return query select v_missing, memory.tenant_proofs_required();
end;
$$;

ALTER FUNCTION memory.require_tenant_proofs() OWNER TO memory_owner;

--
-- Name: reset_setting(text); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.reset_setting(p_key text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  delete from memory.settings where key = p_key;
  return found;
end;
$$;

ALTER FUNCTION memory.reset_setting(p_key text) OWNER TO memory_owner;

--
-- Name: retire_kek(integer, integer); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.retire_kek(p_kek_id integer, p_active_kek_id integer) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  v_setting integer;
  v_deks bigint;
  v_chunks bigint;
begin
  perform memory.begin_maintenance();
  if p_kek_id is null or p_kek_id < 1 then
    raise exception 'kek_id must be a key id (a positive integer)' using errcode = 'MV002';
  end if;
  perform pg_advisory_xact_lock(1836477291, p_kek_id);
  if exists (select from memory.retired_keks r where r.kek_id = p_kek_id) then
    return false;
  end if;
  select (s.value #>> '{}')::integer into v_setting from memory.settings s where s.key = 'active_kek_id';
  if p_kek_id = coalesce(v_setting, p_active_kek_id) then
    raise exception 'key % is the active key: rotate to another key first', p_kek_id
      using errcode = 'MV012', detail = format('kek_id=%s', p_kek_id);
  end if;
  select count(*) into v_deks from memory.tenant_keys k where k.kek_id = p_kek_id;
  select count(*) into v_chunks from memory.memory_chunks c where c.key_scheme = 1 and c.key_id = p_kek_id;
  if v_deks > 0 or v_chunks > 0 then
    raise exception 'key % still wraps % tenant key(s) and seals % legacy chunk(s)', p_kek_id, v_deks, v_chunks
      using errcode = 'MV012', detail = format('kek_id=%s', p_kek_id);
  end if;
  insert into memory.retired_keks (kek_id) values (p_kek_id);
  return true;
end;
$$;

ALTER FUNCTION memory.retire_kek(p_kek_id integer, p_active_kek_id integer) OWNER TO memory_owner;

--
-- Name: retired_keks(); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.retired_keks() RETURNS TABLE(kek_id integer, retired_at timestamp with time zone)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select r.kek_id, r.retired_at from memory.retired_keks r order by r.retired_at, r.kek_id;
$$;

ALTER FUNCTION memory.retired_keks() OWNER TO memory_owner;

--
-- Name: rotate_tenant_key(text, integer, bytea, integer); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.rotate_tenant_key(p_user_hash text, p_dek_id integer, p_wrapped_dek bytea, p_kek_id integer) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  perform memory.begin_maintenance();
  perform memory.assert_kek_usable(p_kek_id);
  update memory.tenant_keys k set active = false, updated_at = now() where k.user_hash = p_user_hash and k.active;
  insert into memory.tenant_keys (user_hash, dek_id, wrapped_dek, kek_id, active)
  values (p_user_hash, p_dek_id, p_wrapped_dek, p_kek_id, true);
end;
$$;

ALTER FUNCTION memory.rotate_tenant_key(p_user_hash text, p_dek_id integer, p_wrapped_dek bytea, p_kek_id integer) OWNER TO memory_owner;

--
-- Name: search(text, public.vector, integer, text, text); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.search(p_user_hash text, p_embedding public.vector, p_limit integer DEFAULT 24, p_doc_id text DEFAULT NULL::text, p_source text DEFAULT NULL::text) RETURNS TABLE(id uuid, doc_id text, source text, text_cipher bytea, meta_cipher bytea, key_id integer, distance double precision)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  v_exact boolean;
begin
  perform memory.set_tenant(p_user_hash);
  perform memory.assert_search_arguments(p_embedding, p_limit);
  v_exact := memory.search_is_exact(p_user_hash);
  -- The ANN tuning matters to the HNSW shape only.
  if not v_exact then
    perform memory.apply_ann_settings();
  end if;
  if memory.search_layout() = 'vectors' then
    return query execute
      'select s.id, s.doc_id, s.source, s.text_cipher, s.meta_cipher, s.key_id, s.distance from ('
      || memory.dense_search_sql(p_doc_id is not null, p_source is not null, v_exact, true) || ') s'
      using p_user_hash, p_embedding::public.halfvec, p_limit, p_doc_id, p_source;
  else
    return query execute
      'select s.id, s.doc_id, s.source, s.text_cipher, s.meta_cipher, s.key_id, s.distance from ('
      || memory.dense_search_sql(p_doc_id is not null, p_source is not null, v_exact, false) || ') s'
      using p_user_hash, p_embedding, p_limit, p_doc_id, p_source;
  end if;
end;
$$;

ALTER FUNCTION memory.search(p_user_hash text, p_embedding public.vector, p_limit integer, p_doc_id text, p_source text) OWNER TO memory_owner;

--
-- Name: search_candidates(text, public.vector, integer, bigint[], integer, text, text, integer); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.search_candidates(p_user_hash text, p_query public.vector, p_dense_limit integer, p_tokens bigint[], p_lexical_limit integer, p_doc_id text, p_source text, p_term_key_id integer) RETURNS TABLE(side text, id uuid, doc_id text, source text, text_cipher bytea, meta_cipher bytea, emb_cipher bytea, key_id integer, score double precision)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  v_exact boolean;
  v_narrow boolean;
  v_params record;
begin
  perform memory.set_tenant(p_user_hash);
  perform memory.assert_search_arguments(p_query, p_dense_limit);
  if p_tokens is not null and cardinality(p_tokens) > 0 then
    if p_lexical_limit is null or p_lexical_limit < 1 or p_lexical_limit > 1000 then
      raise exception 'limit must be between 1 and 1000' using errcode = 'MV007';
    end if;
    if cardinality(p_tokens) > 1024 or array_position(p_tokens, null) is not null then
      raise exception 'tokens: 0 to 1024 tokens, none null' using errcode = 'MV002';
    end if;
    if p_term_key_id is null or not exists (
         select from memory.tenant_keys k where k.user_hash = p_user_hash and k.dek_id = p_term_key_id and k.active) then
      raise exception 'term key % is not the tenant''s active data key', p_term_key_id using errcode = 'MV010';
    end if;
  end if;
  v_exact := memory.search_is_exact(p_user_hash);
  -- The ANN tuning matters to the HNSW shape only.
  if not v_exact then
    perform memory.apply_ann_settings();
  end if;
  v_narrow := memory.search_layout() = 'vectors';
  if v_narrow then
    return query execute
      'select ''dense''::text, d.id, d.doc_id, d.source, d.text_cipher, d.meta_cipher, d.emb_cipher, d.key_id, 1 - d.distance from ('
      || memory.dense_search_sql(p_doc_id is not null, p_source is not null, v_exact, true) || ') d'
      using p_user_hash, p_query::public.halfvec, p_dense_limit, p_doc_id, p_source;
  else
    return query execute
      'select ''dense''::text, d.id, d.doc_id, d.source, d.text_cipher, d.meta_cipher, d.emb_cipher, d.key_id, 1 - d.distance from ('
      || memory.dense_search_sql(p_doc_id is not null, p_source is not null, v_exact, false) || ') d'
      using p_user_hash, p_query, p_dense_limit, p_doc_id, p_source;
  end if;
  if p_tokens is not null and cardinality(p_tokens) > 0 then
    v_params := memory.bm25_parameters();
    return query execute
      'select ''lexical''::text, l.id, l.doc_id, l.source, l.text_cipher, l.meta_cipher, null::bytea, l.key_id, l.score from ('
      || memory.search_lexical_sql(p_doc_id is not null, p_source is not null) || ') l'
      using p_user_hash, p_tokens, p_lexical_limit, p_doc_id, p_source, v_params.k1, v_params.b;
  end if;
end;
$$;

ALTER FUNCTION memory.search_candidates(p_user_hash text, p_query public.vector, p_dense_limit integer, p_tokens bigint[], p_lexical_limit integer, p_doc_id text, p_source text, p_term_key_id integer) OWNER TO memory_owner;

--
-- Name: search_candidates_chunks(text, public.vector, integer, bigint[], integer, text, text, integer, jsonb); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.search_candidates_chunks(p_user_hash text, p_query public.vector, p_dense_limit integer, p_tokens bigint[], p_lexical_limit integer, p_doc_id text, p_source text, p_term_key_id integer, p_filter jsonb) RETURNS TABLE(side text, id uuid, doc_id text, source text, text_cipher bytea, meta_cipher bytea, emb_cipher bytea, key_id integer, score double precision, created_at timestamp with time zone, updated_at timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
declare
  v_exact boolean;
  v_narrow boolean;
  v_params record;
begin
  perform memory.set_tenant(p_user_hash);
  perform memory.assert_search_arguments(p_query, p_dense_limit);
  if p_tokens is not null and cardinality(p_tokens) > 0 then
    if p_lexical_limit is null or p_lexical_limit < 1 or p_lexical_limit > 1000 then
      raise exception 'limit must be between 1 and 1000' using errcode = 'MV007';
    end if;
    if cardinality(p_tokens) > 1024 or array_position(p_tokens, null) is not null then
      raise exception 'tokens: 0 to 1024 tokens, none null' using errcode = 'MV002';
    end if;
    if p_term_key_id is null or not exists (
         select from memory.tenant_keys k where k.user_hash = p_user_hash and k.dek_id = p_term_key_id and k.active) then
      raise exception 'term key % is not the tenant''s active data key', p_term_key_id using errcode = 'MV010';
    end if;
  end if;
  v_exact := memory.search_is_exact(p_user_hash);
  -- The ANN tuning matters to the HNSW shape only.
  if not v_exact then
    perform memory.apply_ann_settings();
  end if;
  v_narrow := memory.search_layout() = 'vectors';
  if v_narrow then
    return query execute
      'select ''dense''::text, d.id, d.doc_id, d.source, d.text_cipher, d.meta_cipher, d.emb_cipher, d.key_id, 1 - d.distance,'
      || ' d.created_at, d.updated_at from ('
      || memory.dense_search_sql_filtered(p_doc_id is not null, p_source is not null, v_exact, true, p_filter)
      || ') d'
      using p_user_hash, p_query::public.halfvec, p_dense_limit, p_doc_id, p_source;
  else
    return query execute
      'select ''dense''::text, d.id, d.doc_id, d.source, d.text_cipher, d.meta_cipher, d.emb_cipher, d.key_id, 1 - d.distance,'
      || ' d.created_at, d.updated_at from ('
      || memory.dense_search_sql_filtered(p_doc_id is not null, p_source is not null, v_exact, false, p_filter)
      || ') d'
      using p_user_hash, p_query, p_dense_limit, p_doc_id, p_source;
  end if;
  if p_tokens is not null and cardinality(p_tokens) > 0 then
    v_params := memory.bm25_parameters();
    return query execute
      'select ''lexical''::text, l.id, l.doc_id, l.source, l.text_cipher, l.meta_cipher, null::bytea, l.key_id, l.score,'
      || ' c.created_at, c.updated_at from ('
      || memory.search_lexical_sql_filtered(p_doc_id is not null, p_source is not null, p_filter)
      || ') l join memory.memory_chunks c on c.user_hash = $1 and c.id = l.id'
      using p_user_hash, p_tokens, p_lexical_limit, p_doc_id, p_source, v_params.k1, v_params.b;
  end if;
end;
$_$;

ALTER FUNCTION memory.search_candidates_chunks(p_user_hash text, p_query public.vector, p_dense_limit integer, p_tokens bigint[], p_lexical_limit integer, p_doc_id text, p_source text, p_term_key_id integer, p_filter jsonb) OWNER TO memory_owner;

--
-- Name: search_candidates_chunks(text, public.vector[], smallint[], integer[], integer, bigint[], integer, text, text, integer, jsonb); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.search_candidates_chunks(p_user_hash text, p_queries public.vector[], p_query_schemes smallint[], p_query_key_ids integer[], p_dense_limit integer, p_tokens bigint[], p_lexical_limit integer, p_doc_id text, p_source text, p_term_key_id integer, p_filter jsonb) RETURNS TABLE(side text, id uuid, doc_id text, source text, text_cipher bytea, meta_cipher bytea, emb_cipher bytea, key_id integer, score double precision, created_at timestamp with time zone, updated_at timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
declare
  v_n integer := coalesce(cardinality(p_queries), 0);
  v_narrow boolean;
  v_exact boolean;
  v_params record;
  v_missing boolean := false;
  v_schemes smallint[];
  v_keys integer[];
  v_i integer;
  v_sql text;
  v_dense text;
begin
  perform memory.set_tenant(p_user_hash);
  if v_n < 1 or v_n > 16 then
    raise exception 'queries: 1 to 16 query vectors' using errcode = 'MV002';
  end if;
  if coalesce(cardinality(p_query_schemes), -1) <> v_n or coalesce(cardinality(p_query_key_ids), -1) <> v_n then
    raise exception 'queries, schemes and key ids differ in length' using errcode = 'MV003';
  end if;
  for v_i in 1 .. v_n loop
    perform memory.assert_search_arguments(p_queries[v_i], p_dense_limit);
    if p_query_schemes[v_i] is null or p_query_key_ids[v_i] is null then
      raise exception 'every query needs its vector scheme and key id' using errcode = 'MV002';
    end if;
  end loop;
  if p_tokens is not null and cardinality(p_tokens) > 0 then
    if p_lexical_limit is null or p_lexical_limit < 1 or p_lexical_limit > 1000 then
      raise exception 'limit must be between 1 and 1000' using errcode = 'MV007';
    end if;
    if cardinality(p_tokens) > 1024 or array_position(p_tokens, null) is not null then
      raise exception 'tokens: 0 to 1024 tokens, none null' using errcode = 'MV002';
    end if;
    if p_term_key_id is null or not exists (
         select from memory.tenant_keys k where k.user_hash = p_user_hash and k.dek_id = p_term_key_id and k.active) then
      raise exception 'term key % is not the tenant''s active data key', p_term_key_id using errcode = 'MV010';
    end if;
  end if;
  v_narrow := memory.search_layout() = 'vectors';

  -- The (scheme, key) pairs the tenant's search vectors are under (one index descent each).
  with recursive pairs as (
    (select v.vector_scheme, v.vector_key_id from memory.chunk_vectors v
      where v.user_hash = p_user_hash order by v.vector_scheme, v.vector_key_id limit 1)
    union all
    select n.vector_scheme, n.vector_key_id
    from pairs pr cross join lateral (
      select v.vector_scheme, v.vector_key_id from memory.chunk_vectors v
      where v.user_hash = p_user_hash and (v.vector_scheme, v.vector_key_id) > (pr.vector_scheme, pr.vector_key_id)
      order by v.vector_scheme, v.vector_key_id limit 1) n
  ),
  held as (
    select pr.vector_scheme as scheme, pr.vector_key_id as key_id from pairs pr
    union
    select 0::smallint, 0 where not v_narrow
  )
  select coalesce(array_agg(h.scheme), '{}'), coalesce(array_agg(h.key_id), '{}')
    into v_schemes, v_keys
  from held h;

  -- Pairs held without a query: ask for them, search nothing yet.
  for v_i in 1 .. coalesce(cardinality(v_keys), 0) loop
    if not exists (select from generate_subscripts(p_queries, 1) q
                   where p_query_schemes[q] = v_schemes[v_i] and p_query_key_ids[q] = v_keys[v_i]) then
      v_missing := true;
      return query select 'vector_key'::text, null::uuid, null::text, null::text, null::bytea, null::bytea,
        null::bytea, v_keys[v_i], v_schemes[v_i]::float8, null::timestamptz, null::timestamptz;
    end if;
  end loop;
  if v_missing then
    return;
  end if;

  v_exact := memory.search_is_exact(p_user_hash);
  -- The ANN tuning matters to the HNSW shape only.
  if not v_exact then
    perform memory.apply_ann_settings();
  end if;
  for v_i in 1 .. v_n loop
    -- A query for a pair the tenant does not hold would find nothing: skip its scan.
    continue when not exists (select from generate_subscripts(v_keys, 1) h
                              where v_schemes[h] = p_query_schemes[v_i] and v_keys[h] = p_query_key_ids[v_i]);
    if p_query_schemes[v_i] = 0 and not v_narrow then
      -- 'chunks' layout: clear vectors are read from the wide rows that still hold one.
      v_sql := memory.dense_search_sql_filtered(p_doc_id is not null, p_source is not null, v_exact, false, p_filter);
      v_dense := replace(v_sql, ' where v.user_hash = $1', ' where v.user_hash = $1 and v.embedding is not null');
    else
      v_sql := memory.dense_search_sql_filtered(p_doc_id is not null, p_source is not null, v_exact, true, p_filter);
      v_dense := replace(v_sql, ' where v.user_hash = $1',
        ' where v.user_hash = $1 and v.vector_scheme = $6 and v.vector_key_id = $7');
    end if;
    -- Never search without the scheme condition: if the query text changed shape, fail loudly.
    if v_dense = v_sql then
      raise exception 'search_candidates_chunks: the search query has no tenant condition to extend' using errcode = 'XX000';
    end if;
    v_sql := 'select ''dense''::text, d.id, d.doc_id, d.source, d.text_cipher, d.meta_cipher, d.emb_cipher, d.key_id, 1 - d.distance,'
      || ' d.created_at, d.updated_at from (' || v_dense || ') d';
    if p_query_schemes[v_i] = 0 and not v_narrow then
      return query execute v_sql
        using p_user_hash, p_queries[v_i], p_dense_limit, p_doc_id, p_source, p_query_schemes[v_i], p_query_key_ids[v_i];
    else
      return query execute v_sql
        using p_user_hash, p_queries[v_i]::public.halfvec, p_dense_limit, p_doc_id, p_source, p_query_schemes[v_i], p_query_key_ids[v_i];
    end if;
  end loop;
  if p_tokens is not null and cardinality(p_tokens) > 0 then
    v_params := memory.bm25_parameters();
    return query execute
      'select ''lexical''::text, l.id, l.doc_id, l.source, l.text_cipher, l.meta_cipher, null::bytea, l.key_id, l.score,'
      || ' c.created_at, c.updated_at from ('
      || memory.search_lexical_sql_filtered(p_doc_id is not null, p_source is not null, p_filter)
      || ') l join memory.memory_chunks c on c.user_hash = $1 and c.id = l.id'
      using p_user_hash, p_tokens, p_lexical_limit, p_doc_id, p_source, v_params.k1, v_params.b;
  end if;
end;
$_$;

ALTER FUNCTION memory.search_candidates_chunks(p_user_hash text, p_queries public.vector[], p_query_schemes smallint[], p_query_key_ids integer[], p_dense_limit integer, p_tokens bigint[], p_lexical_limit integer, p_doc_id text, p_source text, p_term_key_id integer, p_filter jsonb) OWNER TO memory_owner;

--
-- Name: search_hybrid(text, public.vector, bigint[], integer, text, text, integer); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.search_hybrid(p_user_hash text, p_embedding public.vector, p_tokens bigint[], p_limit integer, p_doc_id text, p_source text, p_term_key_id integer) RETURNS TABLE(side text, id uuid, doc_id text, source text, text_cipher bytea, meta_cipher bytea, key_id integer, score double precision)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  v_params record := memory.bm25_parameters();
begin
  perform memory.set_tenant(p_user_hash);
  if p_embedding is null then
    raise exception 'embedding is required' using errcode = 'MV002';
  end if;
  if public.vector_dims(p_embedding) <> memory.embedding_dim() then
    raise exception 'embedding has % dimensions, the schema has %', public.vector_dims(p_embedding), memory.embedding_dim()
      using errcode = 'MV008';
  end if;
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception 'limit must be between 1 and 1000' using errcode = 'MV007';
  end if;
  if p_tokens is null or cardinality(p_tokens) > 1024 or array_position(p_tokens, null) is not null then
    raise exception 'tokens: 0 to 1024 tokens, none null' using errcode = 'MV002';
  end if;
  -- As in search_lexical: tokens keyed under a replaced data key would silently match nothing.
  if cardinality(p_tokens) > 0 and (p_term_key_id is null or not exists (
       select from memory.tenant_keys k where k.user_hash = p_user_hash and k.dek_id = p_term_key_id and k.active)) then
    raise exception 'term key % is not the tenant''s active data key', p_term_key_id using errcode = 'MV010';
  end if;
  perform memory.apply_ann_settings();
  return query execute
    'select ''dense''::text, d.id, d.doc_id, d.source, d.text_cipher, d.meta_cipher, d.key_id, 1 - d.distance from ('
    || memory.search_sql(p_doc_id is not null, p_source is not null, memory.search_is_exact(p_user_hash)) || ') d'
    using p_user_hash, p_embedding, p_limit, p_doc_id, p_source;
  if cardinality(p_tokens) > 0 then
    return query execute
      'select ''lexical''::text, l.* from (' || memory.search_lexical_sql(p_doc_id is not null, p_source is not null) || ') l'
      using p_user_hash, p_tokens, p_limit, p_doc_id, p_source, v_params.k1, v_params.b;
  end if;
end;
$$;

ALTER FUNCTION memory.search_hybrid(p_user_hash text, p_embedding public.vector, p_tokens bigint[], p_limit integer, p_doc_id text, p_source text, p_term_key_id integer) OWNER TO memory_owner;

--
-- Name: search_is_exact(text); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.search_is_exact(p_user_hash text) RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  v_max integer := coalesce((select (s.value #>> '{}')::integer from memory.settings s where s.key = 'ann_exact_max_rows'), 5000);
  v_rows bigint;
begin
  if v_max = 0 then
    return false;
  end if;
  if memory.search_layout() = 'vectors' then
    select z.vectors_at_most into v_rows from memory.tenant_search_sizes z where z.user_hash = p_user_hash;
    if v_rows <= v_max then
      return true;
    end if;
    select count(*) into v_rows
    from (select 1 from memory.chunk_vectors v where v.user_hash = p_user_hash limit v_max + 1) t;
  else
    select count(*) into v_rows
    from (select 1 from memory.memory_chunks c where c.user_hash = p_user_hash limit v_max + 1) t;
  end if;
  return v_rows <= v_max;
end;
$$;

ALTER FUNCTION memory.search_is_exact(p_user_hash text) OWNER TO memory_owner;

--
-- Name: search_layout(); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.search_layout() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select coalesce((select s.value #>> '{}' from memory.settings s where s.key = 'search_layout'), 'chunks');
$$;

ALTER FUNCTION memory.search_layout() OWNER TO memory_owner;

--
-- Name: search_lexical(text, bigint[], integer, text, text, integer); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.search_lexical(p_user_hash text, p_tokens bigint[], p_limit integer, p_doc_id text, p_source text, p_term_key_id integer) RETURNS TABLE(id uuid, doc_id text, source text, text_cipher bytea, meta_cipher bytea, key_id integer, score double precision)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  v_params record := memory.bm25_parameters();
begin
  perform memory.set_tenant(p_user_hash);
  if p_tokens is null or cardinality(p_tokens) > 1024 or array_position(p_tokens, null) is not null then
    raise exception 'tokens: 0 to 1024 tokens, none null' using errcode = 'MV002';
  end if;
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception 'limit must be between 1 and 1000' using errcode = 'MV007';
  end if;
  if p_term_key_id is null or not exists (
       select from memory.tenant_keys k where k.user_hash = p_user_hash and k.dek_id = p_term_key_id and k.active) then
    raise exception 'term key % is not the tenant''s active data key', p_term_key_id using errcode = 'MV010';
  end if;
  return query execute memory.search_lexical_sql(p_doc_id is not null, p_source is not null)
    using p_user_hash, p_tokens, p_limit, p_doc_id, p_source, v_params.k1, v_params.b;
end;
$$;

ALTER FUNCTION memory.search_lexical(p_user_hash text, p_tokens bigint[], p_limit integer, p_doc_id text, p_source text, p_term_key_id integer) OWNER TO memory_owner;

--
-- Name: search_lexical_chunks(text, bigint[], integer, text, text, integer, jsonb); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.search_lexical_chunks(p_user_hash text, p_tokens bigint[], p_limit integer, p_doc_id text, p_source text, p_term_key_id integer, p_filter jsonb) RETURNS TABLE(id uuid, doc_id text, source text, text_cipher bytea, meta_cipher bytea, key_id integer, score double precision, created_at timestamp with time zone, updated_at timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
declare
  v_params record := memory.bm25_parameters();
begin
  perform memory.set_tenant(p_user_hash);
  if p_tokens is null or cardinality(p_tokens) > 1024 or array_position(p_tokens, null) is not null then
    raise exception 'tokens: 0 to 1024 tokens, none null' using errcode = 'MV002';
  end if;
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception 'limit must be between 1 and 1000' using errcode = 'MV007';
  end if;
  if p_term_key_id is null or not exists (
       select from memory.tenant_keys k where k.user_hash = p_user_hash and k.dek_id = p_term_key_id and k.active) then
    raise exception 'term key % is not the tenant''s active data key', p_term_key_id using errcode = 'MV010';
  end if;
  return query execute
    'select l.id, l.doc_id, l.source, l.text_cipher, l.meta_cipher, l.key_id, l.score, c.created_at, c.updated_at from ('
    || memory.search_lexical_sql_filtered(p_doc_id is not null, p_source is not null, p_filter)
    || ') l join memory.memory_chunks c on c.user_hash = $1 and c.id = l.id order by l.score desc, l.id'
    using p_user_hash, p_tokens, p_limit, p_doc_id, p_source, v_params.k1, v_params.b;
end;
$_$;

ALTER FUNCTION memory.search_lexical_chunks(p_user_hash text, p_tokens bigint[], p_limit integer, p_doc_id text, p_source text, p_term_key_id integer, p_filter jsonb) OWNER TO memory_owner;

--
-- Name: search_lexical_sql(boolean, boolean); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.search_lexical_sql(p_has_doc_id boolean, p_has_source boolean) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
  -- Per-row work is kept to multiply-adds: idf is computed once per token (from the token's
  -- posting count), and BM25's length normalisation k1 * (1 - b + b * len / avgdl) is c0 + c1 * len.
  select 'with stats as ('
    || ' select s.chunks::float8 as n, $6 * (1 - $7) as c0,'
    || ' $6 * $7 / greatest(s.total_length::float8 / greatest(s.chunks, 1), 1e-9) as c1'
    || ' from memory.lexical_stats s where s.user_hash = $1),'
    || ' terms as (select distinct t.token from unnest($2::bigint[]) as t(token)),'
    || ' postings as materialized ('
    || ' select p.token, p.chunk_id, p.tf, p.chunk_length'
    || ' from terms q join memory.lexical_postings p on p.user_hash = $1 and p.token = q.token),'
    || ' idf as ('
    || ' select p.token, ln(1 + (st.n - count(*) + 0.5) / (count(*) + 0.5)) * ($6 + 1) as w'
    || ' from postings p cross join stats st group by p.token, st.n),'
    || ' scored as ('
    || ' select p.chunk_id, sum(i.w * p.tf / (p.tf + st.c0 + st.c1 * p.chunk_length)) as score'
    || ' from postings p join idf i on i.token = p.token cross join stats st group by p.chunk_id),'
    || ' best as materialized ('
    || case when p_has_doc_id or p_has_source then
         ' select s.chunk_id, s.score from scored s'
         || ' join memory.memory_chunks f on f.user_hash = $1 and f.id = s.chunk_id'
         || case when p_has_doc_id then ' and f.doc_id = $4' else '' end
         || case when p_has_source then ' and f.source = $5' else '' end
       else ' select s.chunk_id, s.score from scored s' end
    || ' order by s.score desc, s.chunk_id limit $3)'
    || ' select c.id, c.doc_id, c.source, c.text_cipher, c.meta_cipher, c.key_id, b.score::float8'
    || ' from best b join memory.memory_chunks c on c.user_hash = $1 and c.id = b.chunk_id'
    || ' order by b.score desc, b.chunk_id';
$_$;

ALTER FUNCTION memory.search_lexical_sql(p_has_doc_id boolean, p_has_source boolean) OWNER TO memory_owner;

--
-- Name: search_lexical_sql_filtered(boolean, boolean, jsonb); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.search_lexical_sql_filtered(p_has_doc_id boolean, p_has_source boolean, p_filter jsonb) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
declare
  v_sql text := memory.search_lexical_sql(p_has_doc_id, p_has_source);
  v_filtered text;
begin
  if p_filter is null then
    return v_sql;
  end if;
  v_filtered := replace(v_sql, ' from scored s',
    ' from scored s join memory.memory_chunks ff on ff.user_hash = $1 and ff.id = s.chunk_id and '
    || memory.filter_predicate(p_filter, 'ff'));
  if v_filtered = v_sql then
    raise exception 'search_lexical_sql_filtered: the BM25 query has no scored chunks to filter' using errcode = 'XX000';
  end if;
  return v_filtered;
end;
$_$;

ALTER FUNCTION memory.search_lexical_sql_filtered(p_has_doc_id boolean, p_has_source boolean, p_filter jsonb) OWNER TO memory_owner;

--
-- Name: search_sql(boolean, boolean, boolean); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.search_sql(p_has_doc_id boolean, p_has_source boolean, p_exact boolean) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
  with distance(expr) as (
    -- In the exact shape `+ 0` makes the sort key an expression no index provides; the select list
    -- and ORDER BY use the same expression, so it is computed once per row.
    select case when p_exact then '(c.embedding operator(public.<=>) $2) + 0' else 'c.embedding operator(public.<=>) $2' end
  )
  select 'with nearest as materialized ('
    || ' select c.id, ' || d.expr || ' as distance'
    || ' from memory.memory_chunks c'
    || ' where c.user_hash = $1'
    || case when p_has_doc_id then ' and c.doc_id = $4' else '' end
    || case when p_has_source then ' and c.source = $5' else '' end
    || ' order by ' || d.expr
    || ' limit $3)'
    || ' select c.id, c.doc_id, c.source, c.text_cipher, c.meta_cipher, c.key_id, n.distance::float8'
    || ' from nearest n join memory.memory_chunks c on c.user_hash = $1 and c.id = n.id'
    || ' order by n.distance, n.id'
  from distance d;
$_$;

ALTER FUNCTION memory.search_sql(p_has_doc_id boolean, p_has_source boolean, p_exact boolean) OWNER TO memory_owner;

--
-- Name: set_active_kek(integer); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.set_active_kek(p_kek_id integer) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  perform memory.begin_maintenance();
  perform memory.set_setting('active_kek_id', to_jsonb(p_kek_id));
end;
$$;

ALTER FUNCTION memory.set_active_kek(p_kek_id integer) OWNER TO memory_owner;

--
-- Name: set_setting(text, jsonb); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.set_setting(p_key text, p_value jsonb) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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

ALTER FUNCTION memory.set_setting(p_key text, p_value jsonb) OWNER TO memory_owner;

--
-- Name: set_tenant(text); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.set_tenant(p_user_hash text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  perform memory.enter_tenant(p_user_hash, false);
end;
$$;

ALTER FUNCTION memory.set_tenant(p_user_hash text) OWNER TO memory_owner;

--
-- Name: set_tenant(text, text); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.set_tenant(p_user_hash text, p_proof text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  perform set_config('memory.tenant_proof', coalesce(p_proof, ''), true);
  perform memory.enter_tenant(p_user_hash, false);
end;
$$;

ALTER FUNCTION memory.set_tenant(p_user_hash text, p_proof text) OWNER TO memory_owner;

--
-- Name: store_filter_tokens(text, uuid[], integer[], bigint[], integer); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.store_filter_tokens(p_user_hash text, p_ids uuid[], p_chunks integer[], p_tokens bigint[], p_key_id integer) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  v_updated integer;
begin
  perform memory.set_tenant(p_user_hash);
  if p_ids is null or cardinality(p_ids) not between 1 and 1000 or array_position(p_ids, null) is not null then
    raise exception 'ids: 1 to 1000, none null' using errcode = 'MV002';
  end if;
  if coalesce(cardinality(p_chunks), -1) <> coalesce(cardinality(p_tokens), -2) then
    raise exception 'filter token arrays differ in length' using errcode = 'MV003';
  end if;
  if exists (select from unnest(p_chunks, p_tokens) as u(chunk, token)
             where u.chunk is null or u.chunk not between 1 and cardinality(p_ids) or u.token is null) then
    raise exception 'filter tokens: chunk 1..n and a token each' using errcode = 'MV002';
  end if;
  if p_key_id is null or not exists (
       select from memory.tenant_keys k where k.user_hash = p_user_hash and k.dek_id = p_key_id and k.active) then
    raise exception 'data key % is not the tenant''s active key', p_key_id using errcode = 'MV010';
  end if;
  update memory.memory_chunks c
     set filter_tokens = coalesce(t.tokens, '{}'), filter_key_id = p_key_id
    from generate_subscripts(p_ids, 1) as i
    left join (select u.chunk, array_agg(distinct u.token order by u.token) as tokens
                 from unnest(p_chunks, p_tokens) as u(chunk, token) group by u.chunk) t on t.chunk = i
   where c.user_hash = p_user_hash and c.id = p_ids[i];
  get diagnostics v_updated = row_count;
  return v_updated;
end;
$$;

ALTER FUNCTION memory.store_filter_tokens(p_user_hash text, p_ids uuid[], p_chunks integer[], p_tokens bigint[], p_key_id integer) OWNER TO memory_owner;

--
-- Name: store_lexical(text[], uuid[], integer[], integer[], integer[], bigint[], integer[], smallint); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.store_lexical(p_user_hashes text[], p_ids uuid[], p_term_key_ids integer[], p_lengths integer[], p_chunks integer[], p_tokens bigint[], p_tfs integer[], p_analyzer_version smallint) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  v_count integer := coalesce(cardinality(p_ids), 0);
  v_n integer;
begin
  perform memory.begin_maintenance();
  if coalesce(cardinality(p_user_hashes), -1) <> v_count or coalesce(cardinality(p_term_key_ids), -1) <> v_count then
    raise exception 'batch arrays differ in length' using errcode = 'MV003';
  end if;
  if exists (select from unnest(p_user_hashes, p_ids, p_term_key_ids) as u(user_hash, id, term_key_id)
             where u.user_hash is null or u.id is null or u.term_key_id is null) then
    raise exception 'user_hashes, ids and term_key_ids must be present' using errcode = 'MV002';
  end if;
  if exists (select from unnest(p_user_hashes, p_term_key_ids) as u(user_hash, term_key_id)
             where not exists (select from memory.tenant_keys k
                               where k.user_hash = u.user_hash and k.dek_id = u.term_key_id and k.active)) then
    raise exception 'a term key is not its tenant''s active data key' using errcode = 'MV010';
  end if;
  -- One tenant's check covers the array shapes and values; the key check above covered all tenants.
  perform memory.assert_lexical_batch_shape(v_count, p_lengths, p_chunks, p_tokens, p_tfs, p_analyzer_version);
  delete from memory.lexical_chunks l
  using unnest(p_user_hashes, p_ids) as u(user_hash, id)
  where l.user_hash = u.user_hash and l.chunk_id = u.id;
  insert into memory.lexical_chunks (user_hash, chunk_id, length, tokens, tfs, term_key_id, analyzer_version)
  select p_user_hashes[i], p_ids[i], p_lengths[i], coalesce(t.tokens, '{}'), coalesce(t.tfs, '{}'), p_term_key_ids[i], p_analyzer_version
  from generate_subscripts(p_ids, 1) as i
  join memory.memory_chunks c on c.user_hash = p_user_hashes[i] and c.id = p_ids[i]
  left join memory.lexical_postings_by_chunk(p_chunks, p_tokens, p_tfs) t on t.chunk = i;
  get diagnostics v_n = row_count;
  return v_n;
end;
$$;

ALTER FUNCTION memory.store_lexical(p_user_hashes text[], p_ids uuid[], p_term_key_ids integer[], p_lengths integer[], p_chunks integer[], p_tokens bigint[], p_tfs integer[], p_analyzer_version smallint) OWNER TO memory_owner;

--
-- Name: store_resealed(text[], uuid[], bytea[], bytea[], bytea[], integer[]); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.store_resealed(p_user_hashes text[], p_ids uuid[], p_text_ciphers bytea[], p_meta_ciphers bytea[], p_emb_ciphers bytea[], p_key_ids integer[]) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  v_n integer;
begin
  perform memory.begin_maintenance();
  update memory.memory_chunks c
     set text_cipher = u.text_cipher, meta_cipher = u.meta_cipher, emb_cipher = u.emb_cipher,
         key_id = u.key_id, key_scheme = 2
    from unnest(p_user_hashes, p_ids, p_text_ciphers, p_meta_ciphers, p_emb_ciphers, p_key_ids)
      as u(user_hash, id, text_cipher, meta_cipher, emb_cipher, key_id)
   where c.user_hash = u.user_hash and c.id = u.id;
  get diagnostics v_n = row_count;
  return v_n;
end;
$$;

ALTER FUNCTION memory.store_resealed(p_user_hashes text[], p_ids uuid[], p_text_ciphers bytea[], p_meta_ciphers bytea[], p_emb_ciphers bytea[], p_key_ids integer[]) OWNER TO memory_owner;

--
-- Name: store_rewrapped_deks(text[], integer[], bytea[], integer); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.store_rewrapped_deks(p_user_hashes text[], p_dek_ids integer[], p_wrapped bytea[], p_kek_id integer) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  v_n integer;
begin
  perform memory.begin_maintenance();
  perform memory.assert_kek_usable(p_kek_id);
  update memory.tenant_keys k
     set wrapped_dek = u.wrapped, kek_id = p_kek_id, updated_at = now()
    from unnest(p_user_hashes, p_dek_ids, p_wrapped) as u(user_hash, dek_id, wrapped)
   where k.user_hash = u.user_hash and k.dek_id = u.dek_id;
  get diagnostics v_n = row_count;
  return v_n;
end;
$$;

ALTER FUNCTION memory.store_rewrapped_deks(p_user_hashes text[], p_dek_ids integer[], p_wrapped bytea[], p_kek_id integer) OWNER TO memory_owner;

--
-- Name: store_search_vectors(text[], uuid[], public.vector[]); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.store_search_vectors(p_user_hashes text[], p_ids uuid[], p_vectors public.vector[]) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  v_count integer := coalesce(cardinality(p_ids), 0);
  v_n integer;
begin
  perform memory.begin_maintenance();
  if coalesce(cardinality(p_user_hashes), -1) <> v_count or coalesce(cardinality(p_vectors), -1) <> v_count then
    raise exception 'batch arrays differ in length' using errcode = 'MV003';
  end if;
  if exists (select from unnest(p_user_hashes, p_ids, p_vectors) as u(user_hash, id, vec)
             where u.user_hash is null or u.id is null or u.vec is null) then
    raise exception 'user_hashes, ids and vectors must be present' using errcode = 'MV002';
  end if;
  if exists (select from unnest(p_vectors) e where public.vector_dims(e) <> memory.embedding_dim()) then
    raise exception 'every vector must have % dimensions', memory.embedding_dim() using errcode = 'MV008';
  end if;
  insert into memory.chunk_vectors (user_hash, id, embedding)
  select u.user_hash, u.id, u.vec::public.halfvec
  from unnest(p_user_hashes, p_ids, p_vectors) as u(user_hash, id, vec)
  join memory.memory_chunks c on c.user_hash = u.user_hash and c.id = u.id
  on conflict do nothing;
  get diagnostics v_n = row_count;
  return v_n;
end;
$$;

ALTER FUNCTION memory.store_search_vectors(p_user_hashes text[], p_ids uuid[], p_vectors public.vector[]) OWNER TO memory_owner;

--
-- Name: store_search_vectors(text[], uuid[], public.vector[], smallint[], integer[]); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.store_search_vectors(p_user_hashes text[], p_ids uuid[], p_vectors public.vector[], p_schemes smallint[], p_key_ids integer[]) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  v_count integer := coalesce(cardinality(p_ids), 0);
  v_n integer;
begin
  perform memory.begin_maintenance();
  if coalesce(cardinality(p_user_hashes), -1) <> v_count or coalesce(cardinality(p_vectors), -1) <> v_count
     or coalesce(cardinality(p_schemes), -1) <> v_count or coalesce(cardinality(p_key_ids), -1) <> v_count then
    raise exception 'batch arrays differ in length' using errcode = 'MV003';
  end if;
  if exists (select from unnest(p_user_hashes, p_ids, p_vectors, p_schemes, p_key_ids) as u(user_hash, id, vec, scheme, key_id)
             where u.user_hash is null or u.id is null or u.vec is null
                or not ((u.scheme = 0 and u.key_id = 0) or (u.scheme = 1 and u.key_id > 0))) then
    raise exception 'user_hashes, ids and vectors must be present; schemes 0 with key 0, or 1 with a data key id' using errcode = 'MV002';
  end if;
  if exists (select from unnest(p_vectors) e where public.vector_dims(e) <> memory.embedding_dim()) then
    raise exception 'every vector must have % dimensions', memory.embedding_dim() using errcode = 'MV008';
  end if;
  with batch as (
    select u.user_hash, u.id, u.vec, u.scheme, u.key_id
    from unnest(p_user_hashes, p_ids, p_vectors, p_schemes, p_key_ids) as u(user_hash, id, vec, scheme, key_id)
    where u.scheme = 0 or exists (
      select from memory.tenant_keys k where k.user_hash = u.user_hash and k.dek_id = u.key_id and k.active)
  ),
  wide as (
    update memory.memory_chunks c
       set embedding = case when b.scheme = 0 then b.vec end
      from batch b
     where c.user_hash = b.user_hash and c.id = b.id
    returning c.user_hash, c.id
  )
  insert into memory.chunk_vectors as v (user_hash, id, embedding, vector_scheme, vector_key_id)
  select b.user_hash, b.id, b.vec::public.halfvec, b.scheme, b.key_id
  from batch b
  join wide w on w.user_hash = b.user_hash and w.id = b.id
  on conflict (user_hash, id) do update
    set embedding = excluded.embedding, vector_scheme = excluded.vector_scheme, vector_key_id = excluded.vector_key_id;
  get diagnostics v_n = row_count;
  return v_n;
end;
$$;

ALTER FUNCTION memory.store_search_vectors(p_user_hashes text[], p_ids uuid[], p_vectors public.vector[], p_schemes smallint[], p_key_ids integer[]) OWNER TO memory_owner;

--
-- Name: store_tenant_verifiers(text[], bytea[]); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.store_tenant_verifiers(p_user_hashes text[], p_verifiers bytea[]) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  v_n integer;
begin
  perform memory.begin_maintenance();
  if coalesce(cardinality(p_user_hashes), -1) <> coalesce(cardinality(p_verifiers), -2) then
    raise exception 'user hashes and verifiers differ in length' using errcode = 'MV003';
  end if;
  insert into memory.tenant_proofs (user_hash, verifier)
  select u.user_hash, u.verifier from unnest(p_user_hashes, p_verifiers) as u(user_hash, verifier)
  on conflict (user_hash) do nothing;
  get diagnostics v_n = row_count;
  return v_n;
end;
$$;

ALTER FUNCTION memory.store_tenant_verifiers(p_user_hashes text[], p_verifiers bytea[]) OWNER TO memory_owner;

--
-- Name: tenant_keys_of(text[]); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.tenant_keys_of(p_user_hashes text[]) RETURNS TABLE(user_hash text, dek_id integer, wrapped_dek bytea, kek_id integer, active boolean)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  perform memory.begin_maintenance();
  return query
    select k.user_hash, k.dek_id, k.wrapped_dek, k.kek_id, k.active
    from memory.tenant_keys k where k.user_hash = any (p_user_hashes);
end;
$$;

ALTER FUNCTION memory.tenant_keys_of(p_user_hashes text[]) OWNER TO memory_owner;

--
-- Name: tenant_lock_key(text); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.tenant_lock_key(p_user_hash text) RETURNS bigint
    LANGUAGE sql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select ('x' || substr(p_user_hash, 1, 16))::bit(64)::bigint;
$$;

ALTER FUNCTION memory.tenant_lock_key(p_user_hash text) OWNER TO memory_owner;

--
-- Name: tenant_proofs_required(); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.tenant_proofs_required() RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select coalesce((select s.value #>> '{}' from memory.settings s where s.key = 'tenant_proofs'), 'optional')
         = 'required';
$$;

ALTER FUNCTION memory.tenant_proofs_required() OWNER TO memory_owner;

--
-- Name: tenant_stats(text); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.tenant_stats(p_user_hash text) RETURNS TABLE(chunks bigint, documents bigint, cipher_bytes bigint, first_at timestamp with time zone, last_at timestamp with time zone)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  perform memory.set_tenant(p_user_hash);
  return query
    select count(*), count(distinct c.doc_id),
           coalesce(sum(octet_length(c.text_cipher) + octet_length(c.meta_cipher) + octet_length(c.emb_cipher)), 0)::bigint,
           min(c.created_at), max(c.updated_at)
    from memory.memory_chunks c
    where c.user_hash = p_user_hash;
end;
$$;

ALTER FUNCTION memory.tenant_stats(p_user_hash text) OWNER TO memory_owner;

--
-- Name: tg__touch_updated_at(); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.tg__touch_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  new.updated_at := now();
  return new;
end;
$$;

ALTER FUNCTION memory.tg__touch_updated_at() OWNER TO memory_owner;

--
-- Name: tg_chunk_vectors__search_sizes(); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.tg_chunk_vectors__search_sizes() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
declare
  v_sizes text := memory.trigger_target(tg_relid, 'tenant_search_sizes');
  v_vectors text := memory.trigger_target(tg_relid, 'chunk_vectors');
  -- The rows this statement gave a tenant: all inserted rows, or the updated rows that changed
  -- tenant (an update of the vector itself changes no size).
  v_gained text := case tg_op
    when 'INSERT' then 'added'
    when 'UPDATE' then '(select a.user_hash from added a where not exists (select from removed r where r.user_hash = a.user_hash and r.id = a.id))'
  end;
  v_sized text[];
begin
  if tg_op in ('INSERT', 'UPDATE') then
    -- Tenants with a size: add what they gained.
    execute format($q$
      with grown as (
        update %1$s s set vectors_at_most = s.vectors_at_most + g.n
        from (select user_hash, count(*) as n from %2$s g group by user_hash) g
        where s.user_hash = g.user_hash
        returning s.user_hash)
      select coalesce(array_agg(user_hash), '{}') from grown$q$, v_sizes, v_gained)
      into v_sized;
    -- Tenants without one: count what they have, this statement's rows included. A concurrent first
    -- writer may have inserted the row meanwhile: then add only what this statement gained.
    execute format($q$
      insert into %1$s as s (user_hash, vectors_at_most)
      select g.user_hash, (select count(*) from %3$s v where v.user_hash = g.user_hash)
      from (select distinct user_hash from %2$s g) g
      where g.user_hash <> all($1)
      on conflict (user_hash) do update
        set vectors_at_most = s.vectors_at_most + (select count(*) from %2$s x where x.user_hash = excluded.user_hash)$q$,
      v_sizes, v_gained, v_vectors)
      using v_sized;
  end if;
  if tg_op in ('DELETE', 'UPDATE') then
    execute format($q$
      delete from %1$s s
      using (select e.user_hash from %1$s e
             where e.user_hash in (select distinct user_hash from removed)
               and not exists (select from %2$s v where v.user_hash = e.user_hash)
             for update skip locked) gone
      where s.user_hash = gone.user_hash$q$,
      v_sizes, v_vectors);
  end if;
  return null;
end;
$_$;

ALTER FUNCTION memory.tg_chunk_vectors__search_sizes() OWNER TO memory_owner;

--
-- Name: tg_lexical_chunks__sync_postings(); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.tg_lexical_chunks__sync_postings() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
declare
  -- memory.lexical_postings and memory.lexical_stats, or their co-located shards when this fires
  -- on a Citus shard (memory.trigger_target): hence the dynamic SQL.
  v_postings text := memory.trigger_target(tg_relid, 'lexical_postings');
  v_stats text := memory.trigger_target(tg_relid, 'lexical_stats');
begin
  -- Each branch names only the transition tables its trigger declares.
  if tg_op in ('DELETE', 'UPDATE') then
    execute format($q$
      delete from %s p
      using removed r cross join lateral unnest(r.tokens) as u(token)
      where p.user_hash = r.user_hash and p.token = u.token and p.chunk_id = r.chunk_id$q$, v_postings);
    execute format($q$
      update %s s
         set chunks = s.chunks - r.chunks, total_length = s.total_length - r.total_length
        from (select user_hash, count(*) as chunks, sum(length) as total_length from removed group by user_hash) r
       where s.user_hash = r.user_hash$q$, v_stats);
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    execute format($q$
      insert into %s (user_hash, token, chunk_id, tf, chunk_length)
      select a.user_hash, u.token, a.chunk_id, u.tf, a.length
      from added a cross join lateral unnest(a.tokens, a.tfs) as u(token, tf)$q$, v_postings);
    execute format($q$
      insert into %s as s (user_hash, chunks, total_length)
      select a.user_hash, count(*), sum(a.length) from added a group by a.user_hash
      on conflict (user_hash) do update
        set chunks = s.chunks + excluded.chunks, total_length = s.total_length + excluded.total_length$q$, v_stats);
  end if;
  if tg_op in ('DELETE', 'UPDATE') then
    execute format($q$
      delete from %s s
       where s.chunks <= 0 and s.user_hash in (select distinct user_hash from removed)$q$, v_stats);
  end if;
  return null;
end;
$_$;

ALTER FUNCTION memory.tg_lexical_chunks__sync_postings() OWNER TO memory_owner;

--
-- Name: tg_memory_chunks__notify_indexed(); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.tg_memory_chunks__notify_indexed() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  v_row record;
begin
  for v_row in select n.user_hash, count(*)::integer as n, array_agg(n.id) as ids from new_rows n group by n.user_hash loop
    perform memory.notify_event('chunks_indexed', v_row.user_hash, v_row.n, v_row.ids);
  end loop;
  return null;
end;
$$;

ALTER FUNCTION memory.tg_memory_chunks__notify_indexed() OWNER TO memory_owner;

--
-- Name: tg_memory_chunks__touch_updated_at(); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.tg_memory_chunks__touch_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  if new.version is distinct from old.version then
    new.updated_at := now();
  else
    new.updated_at := old.updated_at;
  end if;
  return new;
end;
$$;

ALTER FUNCTION memory.tg_memory_chunks__touch_updated_at() OWNER TO memory_owner;

--
-- Name: tg_settings__notify_changed(); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.tg_settings__notify_changed() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  -- On Citus the coordinator's placement of this reference table notifies (memory.on_citus_worker).
  if memory.on_citus_worker() then
    return null;
  end if;
  perform pg_notify('memory_settings', json_build_object('nonce', gen_random_uuid())::text);
  return null;
end;
$$;

ALTER FUNCTION memory.tg_settings__notify_changed() OWNER TO memory_owner;

--
-- Name: trigger_target(oid, text); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.trigger_target(p_trigger_relid oid, p_table text) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
declare
  v_relname text;
  v_target text;
begin
  select c.relname into v_relname
  from pg_catalog.pg_class c
  where c.oid = p_trigger_relid and c.relnamespace = 'memory'::regnamespace;
  if v_relname is null or not exists (select from pg_catalog.pg_extension where extname = 'citus') then
    return format('memory.%I', p_table);
  end if;
  execute $q$
    select pg_catalog.shard_name(format('memory.%I', $2)::regclass, target.shardid)
    from pg_catalog.pg_dist_shard fired
    join pg_catalog.pg_dist_shard target
      on target.logicalrelid = format('memory.%I', $2)::regclass
     and target.shardminvalue = fired.shardminvalue
    where fired.shardid = substring($1 from '_(\d+)$')::bigint
  $q$ into v_target using v_relname, p_table;
  -- No shard suffix: the trigger fired on the distributed table itself (the coordinator's shell).
  return coalesce(v_target, format('memory.%I', p_table));
end;
$_$;

ALTER FUNCTION memory.trigger_target(p_trigger_relid oid, p_table text) OWNER TO memory_owner;

--
-- Name: update_chunk(text, uuid, bigint, bytea, bytea, bytea, public.vector, integer, smallint, boolean, integer, bigint[], integer[], integer, smallint); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.update_chunk(p_user_hash text, p_id uuid, p_expected_version bigint, p_text_cipher bytea, p_meta_cipher bytea, p_emb_cipher bytea, p_embedding public.vector, p_key_id integer, p_key_scheme smallint, p_text_changed boolean, p_lex_length integer, p_lex_tokens bigint[], p_lex_tfs integer[], p_term_key_id integer, p_analyzer_version smallint) RETURNS TABLE(status text, doc_id text, source text, created_at timestamp with time zone, updated_at timestamp with time zone, version bigint)
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  select * from memory.update_chunk(p_user_hash, p_id, p_expected_version, p_text_cipher, p_meta_cipher,
    p_emb_cipher, p_embedding, p_key_id, p_key_scheme, p_text_changed, p_lex_length, p_lex_tokens, p_lex_tfs,
    p_term_key_id, p_analyzer_version, 0::smallint, 0);
$$;

ALTER FUNCTION memory.update_chunk(p_user_hash text, p_id uuid, p_expected_version bigint, p_text_cipher bytea, p_meta_cipher bytea, p_emb_cipher bytea, p_embedding public.vector, p_key_id integer, p_key_scheme smallint, p_text_changed boolean, p_lex_length integer, p_lex_tokens bigint[], p_lex_tfs integer[], p_term_key_id integer, p_analyzer_version smallint) OWNER TO memory_owner;

--
-- Name: update_chunk(text, uuid, bigint, bytea, bytea, bytea, public.vector, integer, smallint, boolean, integer, bigint[], integer[], integer, smallint, smallint, integer); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.update_chunk(p_user_hash text, p_id uuid, p_expected_version bigint, p_text_cipher bytea, p_meta_cipher bytea, p_emb_cipher bytea, p_embedding public.vector, p_key_id integer, p_key_scheme smallint, p_text_changed boolean, p_lex_length integer, p_lex_tokens bigint[], p_lex_tfs integer[], p_term_key_id integer, p_analyzer_version smallint, p_vector_scheme smallint, p_vector_key_id integer) RETURNS TABLE(status text, doc_id text, source text, created_at timestamp with time zone, updated_at timestamp with time zone, version bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  v_row record;
begin
  perform memory.set_tenant(p_user_hash);
  if p_id is null or p_expected_version is null or p_text_cipher is null or p_meta_cipher is null
     or p_emb_cipher is null or p_embedding is null or p_key_id is null or p_key_scheme is distinct from 2 then
    raise exception 'id, expected version, ciphertexts, embedding and a data key (scheme 2) are required'
      using errcode = 'MV002';
  end if;
  if p_vector_scheme is null or p_vector_key_id is null
     or not ((p_vector_scheme = 0 and p_vector_key_id = 0) or (p_vector_scheme = 1 and p_vector_key_id = p_key_id)) then
    raise exception 'vector_scheme 0 with vector_key_id 0, or 1 with the sealing data key''s id' using errcode = 'MV002';
  end if;
  if public.vector_dims(p_embedding) <> memory.embedding_dim() then
    raise exception 'embedding has % dimensions, the schema has %', public.vector_dims(p_embedding), memory.embedding_dim()
      using errcode = 'MV008';
  end if;
  if not exists (
       select from memory.tenant_keys k where k.user_hash = p_user_hash and k.dek_id = p_key_id and k.active) then
    raise exception 'data key % is not the tenant''s active key', p_key_id using errcode = 'MV010';
  end if;

  update memory.memory_chunks c
     set text_cipher = p_text_cipher, meta_cipher = p_meta_cipher, emb_cipher = p_emb_cipher,
         embedding = case when p_vector_scheme = 0 then p_embedding end, key_id = p_key_id, key_scheme = p_key_scheme, version = c.version + 1,
         -- The metadata may have changed: its filter tokens are keyed again before the next
         -- filtered read (memory.filter_backlog).
         filter_tokens = null, filter_key_id = null
   where c.user_hash = p_user_hash and c.id = p_id and c.version = p_expected_version
  returning c.doc_id, c.source, c.created_at, c.updated_at, c.version into v_row;
  if found then
    -- The narrow search layout's copy of the search vector follows (upsert: a chunk the vector
    -- backfill has not reached yet gets its row now).
    insert into memory.chunk_vectors as v (user_hash, id, embedding, vector_scheme, vector_key_id)
    values (p_user_hash, p_id, p_embedding::public.halfvec, p_vector_scheme, p_vector_key_id)
    on conflict (user_hash, id) do update
      set embedding = excluded.embedding, vector_scheme = excluded.vector_scheme, vector_key_id = excluded.vector_key_id;
    if p_text_changed and p_lex_length is null then
      delete from memory.lexical_chunks l where l.user_hash = p_user_hash and l.chunk_id = p_id;
    elsif p_text_changed then
      perform memory.assert_lexical_batch(p_user_hash, 1, array[p_lex_length],
        array_fill(1, array[coalesce(cardinality(p_lex_tokens), 0)]), p_lex_tokens, p_lex_tfs,
        p_term_key_id, p_analyzer_version);
      -- Upsert: the lexical_chunks triggers move the postings and the tenant's counts.
      insert into memory.lexical_chunks as l (user_hash, chunk_id, length, tokens, tfs, term_key_id, analyzer_version)
      select p_user_hash, p_id, p_lex_length, coalesce(t.tokens, '{}'), coalesce(t.tfs, '{}'), p_term_key_id, p_analyzer_version
      from (select 1) one
      left join memory.lexical_postings_by_chunk(array_fill(1, array[coalesce(cardinality(p_lex_tokens), 0)]), p_lex_tokens, p_lex_tfs) t on true
      on conflict (user_hash, chunk_id) do update
        set length = excluded.length, tokens = excluded.tokens, tfs = excluded.tfs,
            term_key_id = excluded.term_key_id, analyzer_version = excluded.analyzer_version;
    end if;
    perform memory.notify_event('chunk_updated', p_user_hash, 1, array[p_id]);
    return query select 'updated'::text, v_row.doc_id, v_row.source, v_row.created_at, v_row.updated_at, v_row.version;
    return;
  end if;
  -- Not updated: tell a missing row from a newer version (the current one, for the 412).
  return query
    select 'version_mismatch'::text, c.doc_id, c.source, c.created_at, c.updated_at, c.version
    from memory.memory_chunks c
    where c.user_hash = p_user_hash and c.id = p_id;
  if not found then
    return query select 'not_found'::text, null::text, null::text, null::timestamptz, null::timestamptz, null::bigint;
  end if;
end;
$$;

ALTER FUNCTION memory.update_chunk(p_user_hash text, p_id uuid, p_expected_version bigint, p_text_cipher bytea, p_meta_cipher bytea, p_emb_cipher bytea, p_embedding public.vector, p_key_id integer, p_key_scheme smallint, p_text_changed boolean, p_lex_length integer, p_lex_tokens bigint[], p_lex_tfs integer[], p_term_key_id integer, p_analyzer_version smallint, p_vector_scheme smallint, p_vector_key_id integer) OWNER TO memory_owner;

--
-- Name: validate_setting(text, jsonb); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.validate_setting(p_key text, p_value jsonb) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
$_$;

ALTER FUNCTION memory.validate_setting(p_key text, p_value jsonb) OWNER TO memory_owner;

--
-- Name: vector_coverage(); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.vector_coverage() RETURNS TABLE(chunks bigint, missing bigint, layout text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  perform memory.begin_maintenance();
  return query
    select count(*),
           count(*) filter (where v.id is null),
           memory.search_layout()
    from memory.memory_chunks c
    left join memory.chunk_vectors v on v.user_hash = c.user_hash and v.id = c.id;
end;
$$;

ALTER FUNCTION memory.vector_coverage() OWNER TO memory_owner;

--
-- Name: vector_protection(); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.vector_protection() RETURNS TABLE(chunks bigint, missing bigint, clear bigint, stale_key bigint, clear_copies bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
  perform memory.begin_maintenance();
  return query
    select count(*),
           count(*) filter (where v.id is null),
           count(*) filter (where v.vector_scheme = 0),
           count(*) filter (where v.vector_scheme = 1 and not exists (
             select from memory.tenant_keys k where k.user_hash = v.user_hash and k.dek_id = v.vector_key_id and k.active)),
           count(*) filter (where c.embedding is not null)
    from memory.memory_chunks c
    left join memory.chunk_vectors v on v.user_hash = c.user_hash and v.id = c.id;
end;
$$;

ALTER FUNCTION memory.vector_protection() OWNER TO memory_owner;

--
-- Name: verify_rls_isolation(); Type: FUNCTION; Schema: memory; Owner: memory_owner
--

CREATE FUNCTION memory.verify_rls_isolation() RETURNS TABLE(check_name text, passed boolean, detail text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
  v_a text := md5(random()::text) || md5(random()::text);
  v_b text := md5(random()::text) || md5(random()::text);
  v_id uuid := gen_random_uuid();
  v_zero public.vector := array_fill(0, array[memory.embedding_dim()])::real[]::public.vector;
  -- Results are kept in a variable: they must survive the rollback of the probe subtransaction.
  v_results jsonb := '[]';
  v_n bigint;
  v_count bigint;
begin
  begin
    perform set_config('memory.user_hash', v_a, true);
    insert into memory.memory_chunks (user_hash, id, doc_id, source, text_cipher, meta_cipher, emb_cipher, embedding, key_id)
    values (v_a, v_id, 'probe', '', '\x00', '\x00', '\x00', v_zero, 0);

    select count(*) into v_n from memory.memory_chunks where id = v_id;
    v_results := v_results || jsonb_build_object('check_name', 'own_tenant_reads_own_row', 'passed', (v_n = 1), 'detail', format('%s row(s)', v_n));

    -- The lexical index of the probe chunk (one token): its postings and the tenant's counts follow.
    insert into memory.lexical_chunks (user_hash, chunk_id, length, tokens, tfs, term_key_id, analyzer_version)
    values (v_a, v_id, 1, array[42]::bigint[], array[1], 0, 1);
    select (select count(*) from memory.lexical_postings where chunk_id = v_id) + (select count(*) from memory.lexical_stats where user_hash = v_a)
      into v_n;
    v_results := v_results || jsonb_build_object('check_name', 'own_tenant_reads_own_postings', 'passed', (v_n = 2), 'detail', format('%s row(s)', v_n));

    -- Its search vector in the narrow layout (memory.chunk_vectors), and the tenant's search size
    -- that the insert's trigger records (memory.tenant_search_sizes).
    insert into memory.chunk_vectors (user_hash, id, embedding) values (v_a, v_id, v_zero::public.halfvec);
    select (select count(*) from memory.chunk_vectors where id = v_id) + (select count(*) from memory.tenant_search_sizes where user_hash = v_a)
      into v_n;
    v_results := v_results || jsonb_build_object('check_name', 'own_tenant_reads_own_search_vector', 'passed', (v_n = 2), 'detail', format('%s row(s)', v_n));

    perform set_config('memory.user_hash', '', true);
    select count(*) into v_n from memory.memory_chunks;
    v_results := v_results || jsonb_build_object('check_name', 'no_context_reads_nothing', 'passed', (v_n = 0), 'detail', format('%s row(s)', v_n));

    perform set_config('memory.user_hash', 'not-a-hash'' or ''1''=''1', true);
    select count(*) into v_n from memory.memory_chunks;
    v_results := v_results || jsonb_build_object('check_name', 'malformed_context_reads_nothing', 'passed', (v_n = 0), 'detail', format('%s row(s)', v_n));

    perform set_config('memory.user_hash', v_b, true);
    select count(*) into v_n from memory.memory_chunks where id = v_id;
    v_results := v_results || jsonb_build_object('check_name', 'other_tenant_reads_nothing', 'passed', (v_n = 0), 'detail', format('%s row(s)', v_n));

    select (select count(*) from memory.lexical_chunks) + (select count(*) from memory.lexical_postings) + (select count(*) from memory.lexical_stats)
      into v_n;
    v_results := v_results || jsonb_build_object('check_name', 'other_tenant_reads_no_postings', 'passed', (v_n = 0), 'detail', format('%s row(s)', v_n));

    select (select count(*) from memory.chunk_vectors) + (select count(*) from memory.tenant_search_sizes)
      into v_n;
    v_results := v_results || jsonb_build_object('check_name', 'other_tenant_reads_no_search_vectors', 'passed', (v_n = 0), 'detail', format('%s row(s)', v_n));

    update memory.chunk_vectors set embedding = embedding where id = v_id;
    get diagnostics v_n = row_count;
    delete from memory.chunk_vectors where id = v_id;
    get diagnostics v_count = row_count;
    v_results := v_results || jsonb_build_object('check_name', 'other_tenant_changes_no_search_vector', 'passed', (v_n + v_count = 0), 'detail', format('%s row(s)', v_n + v_count));

    delete from memory.lexical_postings where chunk_id = v_id;
    get diagnostics v_n = row_count;
    v_results := v_results || jsonb_build_object('check_name', 'other_tenant_deletes_no_postings', 'passed', (v_n = 0), 'detail', format('%s row(s)', v_n));

    update memory.memory_chunks set doc_id = 'stolen' where id = v_id;
    get diagnostics v_n = row_count;
    v_results := v_results || jsonb_build_object('check_name', 'other_tenant_updates_nothing', 'passed', (v_n = 0), 'detail', format('%s row(s)', v_n));

    delete from memory.memory_chunks where id = v_id;
    get diagnostics v_n = row_count;
    v_results := v_results || jsonb_build_object('check_name', 'other_tenant_deletes_nothing', 'passed', (v_n = 0), 'detail', format('%s row(s)', v_n));

    begin
      insert into memory.memory_chunks (user_hash, id, doc_id, source, text_cipher, meta_cipher, emb_cipher, embedding, key_id)
      values (v_a, gen_random_uuid(), 'probe', '', '\x00', '\x00', '\x00', v_zero, 0);
      v_results := v_results || jsonb_build_object('check_name', 'cross_tenant_insert_rejected', 'passed', false, 'detail', 'insert succeeded');
    exception when insufficient_privilege then
      v_results := v_results || jsonb_build_object('check_name', 'cross_tenant_insert_rejected', 'passed', true, 'detail', 'rejected (42501)');
    end;

    begin
      insert into memory.chunk_vectors (user_hash, id, embedding) values (v_a, v_id, v_zero::public.halfvec);
      v_results := v_results || jsonb_build_object('check_name', 'cross_tenant_search_vector_rejected', 'passed', false, 'detail', 'insert succeeded');
    exception when insufficient_privilege then
      v_results := v_results || jsonb_build_object('check_name', 'cross_tenant_search_vector_rejected', 'passed', true, 'detail', 'rejected (42501)');
    when others then
      -- Past the policy, the row collides with the probe's own vector: isolation did not stop it.
      v_results := v_results || jsonb_build_object('check_name', 'cross_tenant_search_vector_rejected', 'passed', false, 'detail', format('not refused by the policy (%s)', sqlstate));
    end;

    raise exception 'rollback probe' using errcode = 'MV999';
  exception when sqlstate 'MV999' then
    null; -- the probe rows and context changes are rolled back with the subtransaction
  end;
  return query select r.check_name, r.passed, r.detail from jsonb_to_recordset(v_results) as r(check_name text, passed boolean, detail text);
end;
$$;

ALTER FUNCTION memory.verify_rls_isolation() OWNER TO memory_owner;

--
-- Name: chunk_vectors; Type: TABLE; Schema: memory; Owner: memory_owner
--

CREATE TABLE memory.chunk_vectors (
    user_hash text NOT NULL,
    id uuid NOT NULL,
    embedding public.halfvec(384) NOT NULL,
    vector_scheme smallint DEFAULT 0 NOT NULL,
    vector_key_id integer DEFAULT 0 NOT NULL,
    CONSTRAINT chunk_vectors_vector_scheme CHECK ((((vector_scheme = 0) AND (vector_key_id = 0)) OR ((vector_scheme = 1) AND (vector_key_id > 0))))
);

ALTER TABLE ONLY memory.chunk_vectors FORCE ROW LEVEL SECURITY;

ALTER TABLE memory.chunk_vectors OWNER TO memory_owner;

--
-- Name: TABLE chunk_vectors; Type: COMMENT; Schema: memory; Owner: memory_owner
--

COMMENT ON TABLE memory.chunk_vectors IS 'Narrow search layout: each chunk''s search vector (halfvec) keyed like memory_chunks; dense search scans this, the daemon re-scores from emb_cipher.';

--
-- Name: COLUMN chunk_vectors.vector_scheme; Type: COMMENT; Schema: memory; Owner: memory_owner
--

COMMENT ON COLUMN memory.chunk_vectors.vector_scheme IS '0: the embedding in clear; 1: protected under the vector key of data key vector_key_id (HKDF label memvault/vector-key/v1)';

--
-- Name: COLUMN chunk_vectors.vector_key_id; Type: COMMENT; Schema: memory; Owner: memory_owner
--

COMMENT ON COLUMN memory.chunk_vectors.vector_key_id IS 'the tenant data key whose vector key protects this vector; 0 when clear';

--
-- Name: idempotency_keys; Type: TABLE; Schema: memory; Owner: memory_owner
--

CREATE TABLE memory.idempotency_keys (
    user_hash text NOT NULL,
    key_digest bytea NOT NULL,
    request_digest bytea NOT NULL,
    status integer,
    response jsonb,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone DEFAULT (now() + '24:00:00'::interval) NOT NULL,
    CONSTRAINT idempotency_keys_user_hash_format CHECK ((user_hash ~ '^[0-9a-f]{64}$'::text))
);

ALTER TABLE ONLY memory.idempotency_keys FORCE ROW LEVEL SECURITY;

ALTER TABLE memory.idempotency_keys OWNER TO memory_owner;

--
-- Name: TABLE idempotency_keys; Type: COMMENT; Schema: memory; Owner: memory_owner
--

COMMENT ON TABLE memory.idempotency_keys IS 'Idempotency-Key digests of API writes per tenant with the first response; 24 h.';

--
-- Name: key_stats; Type: TABLE; Schema: memory; Owner: memory_owner
--

CREATE TABLE memory.key_stats (
    kek_id integer NOT NULL,
    wrapped_deks bigint NOT NULL,
    legacy_chunks bigint NOT NULL,
    computed_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE ONLY memory.key_stats FORCE ROW LEVEL SECURITY;

ALTER TABLE memory.key_stats OWNER TO memory_owner;

--
-- Name: TABLE key_stats; Type: COMMENT; Schema: memory; Owner: memory_owner
--

COMMENT ON TABLE memory.key_stats IS 'Per KEK id: tenant DEKs it wraps and legacy chunks sealed under it, as of computed_at (published by key jobs).';

--
-- Name: lexical_chunks; Type: TABLE; Schema: memory; Owner: memory_owner
--

CREATE TABLE memory.lexical_chunks (
    user_hash text NOT NULL,
    chunk_id uuid NOT NULL,
    length integer NOT NULL,
    tokens bigint[] NOT NULL,
    tfs integer[] NOT NULL,
    term_key_id integer NOT NULL,
    analyzer_version smallint NOT NULL,
    CONSTRAINT lexical_chunks_length_nonnegative CHECK ((length >= 0)),
    CONSTRAINT lexical_chunks_tfs_match CHECK ((cardinality(tfs) = cardinality(tokens)))
);

ALTER TABLE ONLY memory.lexical_chunks FORCE ROW LEVEL SECURITY;

ALTER TABLE memory.lexical_chunks OWNER TO memory_owner;

--
-- Name: TABLE lexical_chunks; Type: COMMENT; Schema: memory; Owner: memory_owner
--

COMMENT ON TABLE memory.lexical_chunks IS 'Lexical index, per chunk: length, distinct keyed tokens (HMAC under the tenant term key) and term frequencies, term key (DEK id) and analyzer version.';

--
-- Name: lexical_postings; Type: TABLE; Schema: memory; Owner: memory_owner
--

CREATE TABLE memory.lexical_postings (
    user_hash text NOT NULL,
    token bigint NOT NULL,
    chunk_id uuid NOT NULL,
    tf integer NOT NULL,
    chunk_length integer NOT NULL
);

ALTER TABLE ONLY memory.lexical_postings FORCE ROW LEVEL SECURITY;

ALTER TABLE memory.lexical_postings OWNER TO memory_owner;

--
-- Name: TABLE lexical_postings; Type: COMMENT; Schema: memory; Owner: memory_owner
--

COMMENT ON TABLE memory.lexical_postings IS 'Lexical index postings (tenant, keyed token, chunk, term frequency, chunk length); written and deleted by the lexical_chunks triggers.';

--
-- Name: lexical_stats; Type: TABLE; Schema: memory; Owner: memory_owner
--

CREATE TABLE memory.lexical_stats (
    user_hash text NOT NULL,
    chunks bigint NOT NULL,
    total_length bigint NOT NULL
);

ALTER TABLE ONLY memory.lexical_stats FORCE ROW LEVEL SECURITY;

ALTER TABLE memory.lexical_stats OWNER TO memory_owner;

--
-- Name: TABLE lexical_stats; Type: COMMENT; Schema: memory; Owner: memory_owner
--

COMMENT ON TABLE memory.lexical_stats IS 'Per tenant: indexed chunks and their summed length, kept by the lexical_chunks triggers.';

--
-- Name: memory_chunks; Type: TABLE; Schema: memory; Owner: memory_owner
--

CREATE TABLE memory.memory_chunks (
    user_hash text NOT NULL,
    id uuid NOT NULL,
    doc_id text NOT NULL,
    source text DEFAULT ''::text NOT NULL,
    text_cipher bytea NOT NULL,
    meta_cipher bytea NOT NULL,
    emb_cipher bytea NOT NULL,
    embedding public.vector(384),
    key_id integer NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    key_scheme smallint DEFAULT 1 NOT NULL,
    version bigint DEFAULT 1 NOT NULL,
    filter_tokens bigint[],
    filter_key_id integer,
    CONSTRAINT memory_chunks_doc_id_length CHECK (((length(doc_id) >= 1) AND (length(doc_id) <= 256))),
    CONSTRAINT memory_chunks_key_scheme CHECK ((key_scheme = ANY (ARRAY[1, 2]))),
    CONSTRAINT memory_chunks_source_length CHECK ((length(source) <= 256)),
    CONSTRAINT memory_chunks_user_hash_format CHECK ((user_hash ~ '^[0-9a-f]{64}$'::text))
);

ALTER TABLE ONLY memory.memory_chunks FORCE ROW LEVEL SECURITY;

ALTER TABLE memory.memory_chunks OWNER TO memory_owner;

--
-- Name: TABLE memory_chunks; Type: COMMENT; Schema: memory; Owner: memory_owner
--

COMMENT ON TABLE memory.memory_chunks IS 'One sealed memory chunk per row. text/meta/emb ciphers are AES-256-GCM envelopes bound to (tenant, row, column); embedding is a clear copy kept only for chunks whose search vector is clear (null once protected).';

--
-- Name: COLUMN memory_chunks.key_scheme; Type: COMMENT; Schema: memory; Owner: memory_owner
--

COMMENT ON COLUMN memory.memory_chunks.key_scheme IS '1: blobs sealed directly under key-ring key key_id (legacy); 2: sealed under the tenant''s data key key_id';

--
-- Name: retired_keks; Type: TABLE; Schema: memory; Owner: memory_owner
--

CREATE TABLE memory.retired_keks (
    kek_id integer NOT NULL,
    retired_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT retired_keks_kek_id_positive CHECK ((kek_id > 0))
);

ALTER TABLE ONLY memory.retired_keks FORCE ROW LEVEL SECURITY;

ALTER TABLE memory.retired_keks OWNER TO memory_owner;

--
-- Name: TABLE retired_keks; Type: COMMENT; Schema: memory; Owner: memory_owner
--

COMMENT ON TABLE memory.retired_keks IS 'Key-ring keys (KEKs) retired by memvault keys retire: nothing may be wrapped or sealed under them again.';

--
-- Name: settings; Type: TABLE; Schema: memory; Owner: memory_owner
--

CREATE TABLE memory.settings (
    key text NOT NULL,
    value jsonb NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE ONLY memory.settings FORCE ROW LEVEL SECURITY;

ALTER TABLE memory.settings OWNER TO memory_owner;

--
-- Name: TABLE settings; Type: COMMENT; Schema: memory; Owner: memory_owner
--

COMMENT ON TABLE memory.settings IS 'Live overrides (rerank_enabled, rerank_circuit_ms, rerank_rollout_percent, ann_ef_search, ann_iterative_scan); changes NOTIFY memory_settings.';

--
-- Name: tenant_key_id_seq; Type: SEQUENCE; Schema: memory; Owner: memory_owner
--

CREATE SEQUENCE memory.tenant_key_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER TABLE memory.tenant_key_id_seq OWNER TO memory_owner;

--
-- Name: tenant_keys; Type: TABLE; Schema: memory; Owner: memory_owner
--

CREATE TABLE memory.tenant_keys (
    user_hash text NOT NULL,
    dek_id integer NOT NULL,
    wrapped_dek bytea NOT NULL,
    kek_id integer NOT NULL,
    active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT tenant_keys_user_hash_format CHECK ((user_hash ~ '^[0-9a-f]{64}$'::text))
);

ALTER TABLE ONLY memory.tenant_keys FORCE ROW LEVEL SECURITY;

ALTER TABLE memory.tenant_keys OWNER TO memory_owner;

--
-- Name: TABLE tenant_keys; Type: COMMENT; Schema: memory; Owner: memory_owner
--

COMMENT ON TABLE memory.tenant_keys IS 'Per-tenant data keys, stored only wrapped (sealed) by key-ring key kek_id with AAD bound to the tenant and dek_id.';

--
-- Name: tenant_proofs; Type: TABLE; Schema: memory; Owner: memory_owner
--

CREATE TABLE memory.tenant_proofs (
    user_hash text NOT NULL,
    verifier bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT tenant_proofs_user_hash_format CHECK ((user_hash ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT tenant_proofs_verifier_length CHECK ((octet_length(verifier) = 32))
);

ALTER TABLE ONLY memory.tenant_proofs FORCE ROW LEVEL SECURITY;

ALTER TABLE memory.tenant_proofs OWNER TO memory_owner;

--
-- Name: TABLE tenant_proofs; Type: COMMENT; Schema: memory; Owner: memory_owner
--

COMMENT ON TABLE memory.tenant_proofs IS 'Per-tenant proof verifiers: sha256 of the proof the daemon derives from MEMORY_TENANT_HMAC_KEY; the proof itself never reaches the database at rest.';

--
-- Name: tenant_search_sizes; Type: TABLE; Schema: memory; Owner: memory_owner
--

CREATE TABLE memory.tenant_search_sizes (
    user_hash text NOT NULL,
    vectors_at_most bigint NOT NULL
);

ALTER TABLE ONLY memory.tenant_search_sizes FORCE ROW LEVEL SECURITY;

ALTER TABLE memory.tenant_search_sizes OWNER TO memory_owner;

--
-- Name: TABLE tenant_search_sizes; Type: COMMENT; Schema: memory; Owner: memory_owner
--

COMMENT ON TABLE memory.tenant_search_sizes IS 'Per tenant: an upper bound of its rows in memory.chunk_vectors (never lowered by deletes), kept by the chunk_vectors triggers; memory.search_is_exact reads it.';

--
-- Name: chunk_vectors chunk_vectors_pkey; Type: CONSTRAINT; Schema: memory; Owner: memory_owner
--

ALTER TABLE ONLY memory.chunk_vectors
    ADD CONSTRAINT chunk_vectors_pkey PRIMARY KEY (user_hash, id);

--
-- Name: idempotency_keys idempotency_keys_pkey; Type: CONSTRAINT; Schema: memory; Owner: memory_owner
--

ALTER TABLE ONLY memory.idempotency_keys
    ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (user_hash, key_digest);

--
-- Name: key_stats key_stats_pkey; Type: CONSTRAINT; Schema: memory; Owner: memory_owner
--

ALTER TABLE ONLY memory.key_stats
    ADD CONSTRAINT key_stats_pkey PRIMARY KEY (kek_id);

--
-- Name: lexical_chunks lexical_chunks_pkey; Type: CONSTRAINT; Schema: memory; Owner: memory_owner
--

ALTER TABLE ONLY memory.lexical_chunks
    ADD CONSTRAINT lexical_chunks_pkey PRIMARY KEY (user_hash, chunk_id);

--
-- Name: lexical_postings lexical_postings_pkey; Type: CONSTRAINT; Schema: memory; Owner: memory_owner
--

ALTER TABLE ONLY memory.lexical_postings
    ADD CONSTRAINT lexical_postings_pkey PRIMARY KEY (user_hash, token, chunk_id) INCLUDE (tf, chunk_length);

--
-- Name: lexical_stats lexical_stats_pkey; Type: CONSTRAINT; Schema: memory; Owner: memory_owner
--

ALTER TABLE ONLY memory.lexical_stats
    ADD CONSTRAINT lexical_stats_pkey PRIMARY KEY (user_hash);

--
-- Name: memory_chunks memory_chunks_pkey; Type: CONSTRAINT; Schema: memory; Owner: memory_owner
--

ALTER TABLE ONLY memory.memory_chunks
    ADD CONSTRAINT memory_chunks_pkey PRIMARY KEY (user_hash, id);

--
-- Name: retired_keks retired_keks_pkey; Type: CONSTRAINT; Schema: memory; Owner: memory_owner
--

ALTER TABLE ONLY memory.retired_keks
    ADD CONSTRAINT retired_keks_pkey PRIMARY KEY (kek_id);

--
-- Name: settings settings_pkey; Type: CONSTRAINT; Schema: memory; Owner: memory_owner
--

ALTER TABLE ONLY memory.settings
    ADD CONSTRAINT settings_pkey PRIMARY KEY (key);

--
-- Name: tenant_keys tenant_keys_pkey; Type: CONSTRAINT; Schema: memory; Owner: memory_owner
--

ALTER TABLE ONLY memory.tenant_keys
    ADD CONSTRAINT tenant_keys_pkey PRIMARY KEY (user_hash, dek_id);

--
-- Name: tenant_proofs tenant_proofs_pkey; Type: CONSTRAINT; Schema: memory; Owner: memory_owner
--

ALTER TABLE ONLY memory.tenant_proofs
    ADD CONSTRAINT tenant_proofs_pkey PRIMARY KEY (user_hash);

--
-- Name: tenant_search_sizes tenant_search_sizes_pkey; Type: CONSTRAINT; Schema: memory; Owner: memory_owner
--

ALTER TABLE ONLY memory.tenant_search_sizes
    ADD CONSTRAINT tenant_search_sizes_pkey PRIMARY KEY (user_hash);

--
-- Name: chunk_vectors_embedding_hnsw_idx; Type: INDEX; Schema: memory; Owner: memory_owner
--

CREATE INDEX chunk_vectors_embedding_hnsw_idx ON memory.chunk_vectors USING hnsw (embedding public.halfvec_cosine_ops);

--
-- Name: chunk_vectors_scheme_idx; Type: INDEX; Schema: memory; Owner: memory_owner
--

CREATE INDEX chunk_vectors_scheme_idx ON memory.chunk_vectors USING btree (user_hash, vector_scheme, vector_key_id);

--
-- Name: memory_chunks_embedding_hnsw_idx; Type: INDEX; Schema: memory; Owner: memory_owner
--

CREATE INDEX memory_chunks_embedding_hnsw_idx ON memory.memory_chunks USING hnsw (embedding public.vector_cosine_ops);

--
-- Name: memory_chunks_filter_key_idx; Type: INDEX; Schema: memory; Owner: memory_owner
--

CREATE INDEX memory_chunks_filter_key_idx ON memory.memory_chunks USING btree (user_hash, filter_key_id);

--
-- Name: memory_chunks_filter_tokens_idx; Type: INDEX; Schema: memory; Owner: memory_owner
--

CREATE INDEX memory_chunks_filter_tokens_idx ON memory.memory_chunks USING gin (filter_tokens);

--
-- Name: memory_chunks_key_idx; Type: INDEX; Schema: memory; Owner: memory_owner
--

CREATE INDEX memory_chunks_key_idx ON memory.memory_chunks USING btree (key_scheme, key_id);

--
-- Name: memory_chunks_user_created_idx; Type: INDEX; Schema: memory; Owner: memory_owner
--

CREATE INDEX memory_chunks_user_created_idx ON memory.memory_chunks USING btree (user_hash, created_at DESC, id DESC);

--
-- Name: memory_chunks_user_doc_idx; Type: INDEX; Schema: memory; Owner: memory_owner
--

CREATE INDEX memory_chunks_user_doc_idx ON memory.memory_chunks USING btree (user_hash, doc_id);

--
-- Name: tenant_keys_kek_idx; Type: INDEX; Schema: memory; Owner: memory_owner
--

CREATE INDEX tenant_keys_kek_idx ON memory.tenant_keys USING btree (kek_id);

--
-- Name: tenant_keys_one_active_idx; Type: INDEX; Schema: memory; Owner: memory_owner
--

CREATE UNIQUE INDEX tenant_keys_one_active_idx ON memory.tenant_keys USING btree (user_hash) WHERE active;

--
-- Name: lexical_chunks _100_add_postings; Type: TRIGGER; Schema: memory; Owner: memory_owner
--

CREATE TRIGGER _100_add_postings AFTER INSERT ON memory.lexical_chunks REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION memory.tg_lexical_chunks__sync_postings();

--
-- Name: chunk_vectors _100_add_search_sizes; Type: TRIGGER; Schema: memory; Owner: memory_owner
--

CREATE TRIGGER _100_add_search_sizes AFTER INSERT ON memory.chunk_vectors REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION memory.tg_chunk_vectors__search_sizes();

--
-- Name: lexical_chunks _100_move_postings; Type: TRIGGER; Schema: memory; Owner: memory_owner
--

CREATE TRIGGER _100_move_postings AFTER UPDATE ON memory.lexical_chunks REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION memory.tg_lexical_chunks__sync_postings();

--
-- Name: chunk_vectors _100_move_search_sizes; Type: TRIGGER; Schema: memory; Owner: memory_owner
--

CREATE TRIGGER _100_move_search_sizes AFTER UPDATE ON memory.chunk_vectors REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION memory.tg_chunk_vectors__search_sizes();

--
-- Name: lexical_chunks _100_remove_postings; Type: TRIGGER; Schema: memory; Owner: memory_owner
--

CREATE TRIGGER _100_remove_postings AFTER DELETE ON memory.lexical_chunks REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION memory.tg_lexical_chunks__sync_postings();

--
-- Name: chunk_vectors _100_remove_search_sizes; Type: TRIGGER; Schema: memory; Owner: memory_owner
--

CREATE TRIGGER _100_remove_search_sizes AFTER DELETE ON memory.chunk_vectors REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION memory.tg_chunk_vectors__search_sizes();

--
-- Name: memory_chunks _100_touch_updated_at; Type: TRIGGER; Schema: memory; Owner: memory_owner
--

CREATE TRIGGER _100_touch_updated_at BEFORE UPDATE ON memory.memory_chunks FOR EACH ROW EXECUTE FUNCTION memory.tg_memory_chunks__touch_updated_at();

--
-- Name: settings _100_touch_updated_at; Type: TRIGGER; Schema: memory; Owner: memory_owner
--

CREATE TRIGGER _100_touch_updated_at BEFORE UPDATE ON memory.settings FOR EACH ROW EXECUTE FUNCTION memory.tg__touch_updated_at();

--
-- Name: tenant_keys _100_touch_updated_at; Type: TRIGGER; Schema: memory; Owner: memory_owner
--

CREATE TRIGGER _100_touch_updated_at BEFORE UPDATE ON memory.tenant_keys FOR EACH ROW EXECUTE FUNCTION memory.tg__touch_updated_at();

--
-- Name: settings _900_notify_changed; Type: TRIGGER; Schema: memory; Owner: memory_owner
--

CREATE TRIGGER _900_notify_changed AFTER INSERT OR DELETE OR UPDATE ON memory.settings FOR EACH STATEMENT EXECUTE FUNCTION memory.tg_settings__notify_changed();

--
-- Name: memory_chunks _900_notify_indexed; Type: TRIGGER; Schema: memory; Owner: memory_owner
--

CREATE TRIGGER _900_notify_indexed AFTER INSERT ON memory.memory_chunks REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION memory.tg_memory_chunks__notify_indexed();

--
-- Name: chunk_vectors chunk_vectors_chunk_fkey; Type: FK CONSTRAINT; Schema: memory; Owner: memory_owner
--

ALTER TABLE ONLY memory.chunk_vectors
    ADD CONSTRAINT chunk_vectors_chunk_fkey FOREIGN KEY (user_hash, id) REFERENCES memory.memory_chunks(user_hash, id) ON UPDATE CASCADE ON DELETE CASCADE;

--
-- Name: lexical_chunks lexical_chunks_chunk_fkey; Type: FK CONSTRAINT; Schema: memory; Owner: memory_owner
--

ALTER TABLE ONLY memory.lexical_chunks
    ADD CONSTRAINT lexical_chunks_chunk_fkey FOREIGN KEY (user_hash, chunk_id) REFERENCES memory.memory_chunks(user_hash, id) ON UPDATE CASCADE ON DELETE CASCADE;

--
-- Name: chunk_vectors; Type: ROW SECURITY; Schema: memory; Owner: memory_owner
--

ALTER TABLE memory.chunk_vectors ENABLE ROW LEVEL SECURITY;

--
-- Name: chunk_vectors chunk_vectors_isolation; Type: POLICY; Schema: memory; Owner: memory_owner
--

CREATE POLICY chunk_vectors_isolation ON memory.chunk_vectors USING (((user_hash = ( SELECT current_setting('memory.user_hash'::text, true) AS current_setting)) OR ( SELECT memory.in_maintenance() AS in_maintenance))) WITH CHECK (((user_hash = ( SELECT current_setting('memory.user_hash'::text, true) AS current_setting)) OR ( SELECT memory.in_maintenance() AS in_maintenance)));

--
-- Name: idempotency_keys; Type: ROW SECURITY; Schema: memory; Owner: memory_owner
--

ALTER TABLE memory.idempotency_keys ENABLE ROW LEVEL SECURITY;

--
-- Name: idempotency_keys idempotency_keys_tenant_isolation; Type: POLICY; Schema: memory; Owner: memory_owner
--

CREATE POLICY idempotency_keys_tenant_isolation ON memory.idempotency_keys USING (((user_hash = ( SELECT current_setting('memory.user_hash'::text, true) AS current_setting)) OR ( SELECT memory.in_maintenance() AS in_maintenance))) WITH CHECK (((user_hash = ( SELECT current_setting('memory.user_hash'::text, true) AS current_setting)) OR ( SELECT memory.in_maintenance() AS in_maintenance)));

--
-- Name: key_stats; Type: ROW SECURITY; Schema: memory; Owner: memory_owner
--

ALTER TABLE memory.key_stats ENABLE ROW LEVEL SECURITY;

--
-- Name: key_stats key_stats_owner_access; Type: POLICY; Schema: memory; Owner: memory_owner
--

CREATE POLICY key_stats_owner_access ON memory.key_stats USING (true) WITH CHECK (true);

--
-- Name: lexical_chunks; Type: ROW SECURITY; Schema: memory; Owner: memory_owner
--

ALTER TABLE memory.lexical_chunks ENABLE ROW LEVEL SECURITY;

--
-- Name: lexical_chunks lexical_chunks_isolation; Type: POLICY; Schema: memory; Owner: memory_owner
--

CREATE POLICY lexical_chunks_isolation ON memory.lexical_chunks USING (((user_hash = ( SELECT current_setting('memory.user_hash'::text, true) AS current_setting)) OR ( SELECT memory.in_maintenance() AS in_maintenance))) WITH CHECK (((user_hash = ( SELECT current_setting('memory.user_hash'::text, true) AS current_setting)) OR ( SELECT memory.in_maintenance() AS in_maintenance)));

--
-- Name: lexical_postings; Type: ROW SECURITY; Schema: memory; Owner: memory_owner
--

ALTER TABLE memory.lexical_postings ENABLE ROW LEVEL SECURITY;

--
-- Name: lexical_postings lexical_postings_isolation; Type: POLICY; Schema: memory; Owner: memory_owner
--

CREATE POLICY lexical_postings_isolation ON memory.lexical_postings USING (((user_hash = ( SELECT current_setting('memory.user_hash'::text, true) AS current_setting)) OR ( SELECT memory.in_maintenance() AS in_maintenance))) WITH CHECK (((user_hash = ( SELECT current_setting('memory.user_hash'::text, true) AS current_setting)) OR ( SELECT memory.in_maintenance() AS in_maintenance)));

--
-- Name: lexical_stats; Type: ROW SECURITY; Schema: memory; Owner: memory_owner
--

ALTER TABLE memory.lexical_stats ENABLE ROW LEVEL SECURITY;

--
-- Name: lexical_stats lexical_stats_isolation; Type: POLICY; Schema: memory; Owner: memory_owner
--

CREATE POLICY lexical_stats_isolation ON memory.lexical_stats USING (((user_hash = ( SELECT current_setting('memory.user_hash'::text, true) AS current_setting)) OR ( SELECT memory.in_maintenance() AS in_maintenance))) WITH CHECK (((user_hash = ( SELECT current_setting('memory.user_hash'::text, true) AS current_setting)) OR ( SELECT memory.in_maintenance() AS in_maintenance)));

--
-- Name: memory_chunks; Type: ROW SECURITY; Schema: memory; Owner: memory_owner
--

ALTER TABLE memory.memory_chunks ENABLE ROW LEVEL SECURITY;

--
-- Name: memory_chunks memory_tenant_isolation; Type: POLICY; Schema: memory; Owner: memory_owner
--

CREATE POLICY memory_tenant_isolation ON memory.memory_chunks USING (((user_hash = ( SELECT current_setting('memory.user_hash'::text, true) AS current_setting)) OR ( SELECT memory.in_maintenance() AS in_maintenance))) WITH CHECK (((user_hash = ( SELECT current_setting('memory.user_hash'::text, true) AS current_setting)) OR ( SELECT memory.in_maintenance() AS in_maintenance)));

--
-- Name: retired_keks; Type: ROW SECURITY; Schema: memory; Owner: memory_owner
--

ALTER TABLE memory.retired_keks ENABLE ROW LEVEL SECURITY;

--
-- Name: retired_keks retired_keks_owner_access; Type: POLICY; Schema: memory; Owner: memory_owner
--

CREATE POLICY retired_keks_owner_access ON memory.retired_keks USING (true) WITH CHECK (true);

--
-- Name: settings; Type: ROW SECURITY; Schema: memory; Owner: memory_owner
--

ALTER TABLE memory.settings ENABLE ROW LEVEL SECURITY;

--
-- Name: settings settings_owner_access; Type: POLICY; Schema: memory; Owner: memory_owner
--

CREATE POLICY settings_owner_access ON memory.settings USING (true) WITH CHECK (true);

--
-- Name: tenant_keys; Type: ROW SECURITY; Schema: memory; Owner: memory_owner
--

ALTER TABLE memory.tenant_keys ENABLE ROW LEVEL SECURITY;

--
-- Name: tenant_keys tenant_keys_isolation; Type: POLICY; Schema: memory; Owner: memory_owner
--

CREATE POLICY tenant_keys_isolation ON memory.tenant_keys USING (((user_hash = ( SELECT current_setting('memory.user_hash'::text, true) AS current_setting)) OR ( SELECT memory.in_maintenance() AS in_maintenance))) WITH CHECK (((user_hash = ( SELECT current_setting('memory.user_hash'::text, true) AS current_setting)) OR ( SELECT memory.in_maintenance() AS in_maintenance)));

--
-- Name: tenant_proofs; Type: ROW SECURITY; Schema: memory; Owner: memory_owner
--

ALTER TABLE memory.tenant_proofs ENABLE ROW LEVEL SECURITY;

--
-- Name: tenant_proofs tenant_proofs_isolation; Type: POLICY; Schema: memory; Owner: memory_owner
--

CREATE POLICY tenant_proofs_isolation ON memory.tenant_proofs USING (((user_hash = ( SELECT current_setting('memory.user_hash'::text, true) AS current_setting)) OR ( SELECT memory.in_maintenance() AS in_maintenance))) WITH CHECK (((user_hash = ( SELECT current_setting('memory.user_hash'::text, true) AS current_setting)) OR ( SELECT memory.in_maintenance() AS in_maintenance)));

--
-- Name: tenant_search_sizes; Type: ROW SECURITY; Schema: memory; Owner: memory_owner
--

ALTER TABLE memory.tenant_search_sizes ENABLE ROW LEVEL SECURITY;

--
-- Name: tenant_search_sizes tenant_search_sizes_isolation; Type: POLICY; Schema: memory; Owner: memory_owner
--

CREATE POLICY tenant_search_sizes_isolation ON memory.tenant_search_sizes USING (((user_hash = ( SELECT current_setting('memory.user_hash'::text, true) AS current_setting)) OR ( SELECT memory.in_maintenance() AS in_maintenance))) WITH CHECK (((user_hash = ( SELECT current_setting('memory.user_hash'::text, true) AS current_setting)) OR ( SELECT memory.in_maintenance() AS in_maintenance)));

--
-- Name: SCHEMA memory; Type: ACL; Schema: -; Owner: memory_owner
--

GRANT USAGE ON SCHEMA memory TO memory_app;
GRANT USAGE ON SCHEMA memory TO memory_maintainer;

--
-- Name: FUNCTION add_tenant_key(p_user_hash text, p_dek_id integer, p_wrapped_dek bytea, p_kek_id integer); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.add_tenant_key(p_user_hash text, p_dek_id integer, p_wrapped_dek bytea, p_kek_id integer) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.add_tenant_key(p_user_hash text, p_dek_id integer, p_wrapped_dek bytea, p_kek_id integer) TO memory_app;
GRANT ALL ON FUNCTION memory.add_tenant_key(p_user_hash text, p_dek_id integer, p_wrapped_dek bytea, p_kek_id integer) TO memory_maintainer;

--
-- Name: FUNCTION add_tenant_key_in_maintenance(p_user_hash text, p_dek_id integer, p_wrapped_dek bytea, p_kek_id integer); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.add_tenant_key_in_maintenance(p_user_hash text, p_dek_id integer, p_wrapped_dek bytea, p_kek_id integer) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.add_tenant_key_in_maintenance(p_user_hash text, p_dek_id integer, p_wrapped_dek bytea, p_kek_id integer) TO memory_maintainer;

--
-- Name: FUNCTION apply_ann_settings(); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.apply_ann_settings() FROM PUBLIC;

--
-- Name: FUNCTION assert_kek_usable(p_kek_id integer); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.assert_kek_usable(p_kek_id integer) FROM PUBLIC;

--
-- Name: FUNCTION assert_lexical_batch(p_user_hash text, p_chunk_count integer, p_lengths integer[], p_chunks integer[], p_tokens bigint[], p_tfs integer[], p_term_key_id integer, p_analyzer_version smallint); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.assert_lexical_batch(p_user_hash text, p_chunk_count integer, p_lengths integer[], p_chunks integer[], p_tokens bigint[], p_tfs integer[], p_term_key_id integer, p_analyzer_version smallint) FROM PUBLIC;

--
-- Name: FUNCTION assert_lexical_batch_shape(p_chunk_count integer, p_lengths integer[], p_chunks integer[], p_tokens bigint[], p_tfs integer[], p_analyzer_version smallint); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.assert_lexical_batch_shape(p_chunk_count integer, p_lengths integer[], p_chunks integer[], p_tokens bigint[], p_tfs integer[], p_analyzer_version smallint) FROM PUBLIC;

--
-- Name: FUNCTION assert_search_arguments(p_embedding public.vector, p_limit integer); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.assert_search_arguments(p_embedding public.vector, p_limit integer) FROM PUBLIC;

--
-- Name: FUNCTION assert_tenant_proof(p_user_hash text); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.assert_tenant_proof(p_user_hash text) FROM PUBLIC;

--
-- Name: FUNCTION begin_maintenance(); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.begin_maintenance() FROM PUBLIC;

--
-- Name: FUNCTION bm25_parameters(OUT k1 double precision, OUT b double precision); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.bm25_parameters(OUT k1 double precision, OUT b double precision) FROM PUBLIC;

--
-- Name: FUNCTION claim_dek_rewrap(p_target_kek_id integer, p_limit integer); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.claim_dek_rewrap(p_target_kek_id integer, p_limit integer) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.claim_dek_rewrap(p_target_kek_id integer, p_limit integer) TO memory_maintainer;

--
-- Name: FUNCTION claim_idempotency_key(p_user_hash text, p_key_digest bytea, p_request_digest bytea); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.claim_idempotency_key(p_user_hash text, p_key_digest bytea, p_request_digest bytea) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.claim_idempotency_key(p_user_hash text, p_key_digest bytea, p_request_digest bytea) TO memory_app;

--
-- Name: FUNCTION claim_lexical_reindex(p_limit integer, p_analyzer_version smallint, p_user_hash text, p_after_hash text, p_after_id uuid); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.claim_lexical_reindex(p_limit integer, p_analyzer_version smallint, p_user_hash text, p_after_hash text, p_after_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.claim_lexical_reindex(p_limit integer, p_analyzer_version smallint, p_user_hash text, p_after_hash text, p_after_id uuid) TO memory_maintainer;

--
-- Name: FUNCTION claim_reseal(p_limit integer, p_user_hash text, p_after_hash text, p_after_id uuid); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.claim_reseal(p_limit integer, p_user_hash text, p_after_hash text, p_after_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.claim_reseal(p_limit integer, p_user_hash text, p_after_hash text, p_after_id uuid) TO memory_maintainer;

--
-- Name: FUNCTION claim_tenant_proofs(p_limit integer, p_after_hash text); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.claim_tenant_proofs(p_limit integer, p_after_hash text) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.claim_tenant_proofs(p_limit integer, p_after_hash text) TO memory_maintainer;

--
-- Name: FUNCTION claim_vector_backfill(p_limit integer, p_user_hash text, p_after_hash text, p_after_id uuid); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.claim_vector_backfill(p_limit integer, p_user_hash text, p_after_hash text, p_after_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.claim_vector_backfill(p_limit integer, p_user_hash text, p_after_hash text, p_after_id uuid) TO memory_maintainer;

--
-- Name: FUNCTION delete_chunk(p_user_hash text, p_id uuid, p_expected_version bigint); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.delete_chunk(p_user_hash text, p_id uuid, p_expected_version bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.delete_chunk(p_user_hash text, p_id uuid, p_expected_version bigint) TO memory_app;

--
-- Name: FUNCTION delete_doc(p_user_hash text, p_doc_id text); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.delete_doc(p_user_hash text, p_doc_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.delete_doc(p_user_hash text, p_doc_id text) TO memory_app;

--
-- Name: FUNCTION dense_search_sql(p_has_doc_id boolean, p_has_source boolean, p_exact boolean, p_narrow boolean); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.dense_search_sql(p_has_doc_id boolean, p_has_source boolean, p_exact boolean, p_narrow boolean) FROM PUBLIC;

--
-- Name: FUNCTION dense_search_sql_filtered(p_has_doc_id boolean, p_has_source boolean, p_exact boolean, p_narrow boolean, p_filter jsonb); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.dense_search_sql_filtered(p_has_doc_id boolean, p_has_source boolean, p_exact boolean, p_narrow boolean, p_filter jsonb) FROM PUBLIC;

--
-- Name: FUNCTION drop_retired_tenant_keys(p_user_hash text); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.drop_retired_tenant_keys(p_user_hash text) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.drop_retired_tenant_keys(p_user_hash text) TO memory_maintainer;

--
-- Name: FUNCTION embedding_dim(); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.embedding_dim() FROM PUBLIC;
GRANT ALL ON FUNCTION memory.embedding_dim() TO memory_app;

--
-- Name: FUNCTION enter_tenant(p_user_hash text, p_exclusive boolean); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.enter_tenant(p_user_hash text, p_exclusive boolean) FROM PUBLIC;

--
-- Name: FUNCTION envelope_key_id(p_blob bytea); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.envelope_key_id(p_blob bytea) FROM PUBLIC;

--
-- Name: FUNCTION explain_lookup(p_user_hash text); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.explain_lookup(p_user_hash text) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.explain_lookup(p_user_hash text) TO memory_app;

--
-- Name: FUNCTION explain_search(p_user_hash text, p_embedding public.vector, p_limit integer, p_analyze boolean); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.explain_search(p_user_hash text, p_embedding public.vector, p_limit integer, p_analyze boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.explain_search(p_user_hash text, p_embedding public.vector, p_limit integer, p_analyze boolean) TO memory_app;

--
-- Name: FUNCTION explain_search_lexical(p_user_hash text, p_tokens bigint[], p_limit integer, p_analyze boolean); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.explain_search_lexical(p_user_hash text, p_tokens bigint[], p_limit integer, p_analyze boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.explain_search_lexical(p_user_hash text, p_tokens bigint[], p_limit integer, p_analyze boolean) TO memory_app;

--
-- Name: FUNCTION filter_backlog(p_user_hash text, p_limit integer); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.filter_backlog(p_user_hash text, p_limit integer) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.filter_backlog(p_user_hash text, p_limit integer) TO memory_app;

--
-- Name: FUNCTION filter_predicate(p_filter jsonb, p_alias text, p_depth integer); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.filter_predicate(p_filter jsonb, p_alias text, p_depth integer) FROM PUBLIC;

--
-- Name: FUNCTION finish_vector_backfill(); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.finish_vector_backfill() FROM PUBLIC;
GRANT ALL ON FUNCTION memory.finish_vector_backfill() TO memory_maintainer;

--
-- Name: FUNCTION forget_tenant(p_user_hash text); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.forget_tenant(p_user_hash text) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.forget_tenant(p_user_hash text) TO memory_app;

--
-- Name: FUNCTION get_chunk(p_user_hash text, p_id uuid); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.get_chunk(p_user_hash text, p_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.get_chunk(p_user_hash text, p_id uuid) TO memory_app;

--
-- Name: FUNCTION get_chunks(p_user_hash text, p_ids uuid[]); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.get_chunks(p_user_hash text, p_ids uuid[]) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.get_chunks(p_user_hash text, p_ids uuid[]) TO memory_app;

--
-- Name: FUNCTION get_settings(); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.get_settings() FROM PUBLIC;
GRANT ALL ON FUNCTION memory.get_settings() TO memory_app;
GRANT ALL ON FUNCTION memory.get_settings() TO memory_maintainer;

--
-- Name: FUNCTION get_tenant_keys(p_user_hash text); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.get_tenant_keys(p_user_hash text) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.get_tenant_keys(p_user_hash text) TO memory_app;
GRANT ALL ON FUNCTION memory.get_tenant_keys(p_user_hash text) TO memory_maintainer;

--
-- Name: FUNCTION health(); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.health() FROM PUBLIC;
GRANT ALL ON FUNCTION memory.health() TO memory_app;
GRANT ALL ON FUNCTION memory.health() TO memory_maintainer;

--
-- Name: FUNCTION in_maintenance(); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.in_maintenance() FROM PUBLIC;

--
-- Name: FUNCTION index_chunk(p_user_hash text, p_id uuid, p_doc_id text, p_source text, p_text_cipher bytea, p_meta_cipher bytea, p_emb_cipher bytea, p_embedding public.vector, p_key_id integer, p_key_scheme smallint); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.index_chunk(p_user_hash text, p_id uuid, p_doc_id text, p_source text, p_text_cipher bytea, p_meta_cipher bytea, p_emb_cipher bytea, p_embedding public.vector, p_key_id integer, p_key_scheme smallint) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.index_chunk(p_user_hash text, p_id uuid, p_doc_id text, p_source text, p_text_cipher bytea, p_meta_cipher bytea, p_emb_cipher bytea, p_embedding public.vector, p_key_id integer, p_key_scheme smallint) TO memory_app;

--
-- Name: FUNCTION index_chunks(p_user_hash text, p_ids uuid[], p_doc_ids text[], p_sources text[], p_text_ciphers bytea[], p_meta_ciphers bytea[], p_emb_ciphers bytea[], p_embeddings public.vector[], p_key_id integer, p_key_scheme smallint, p_lex_lengths integer[], p_lex_chunks integer[], p_lex_tokens bigint[], p_lex_tfs integer[], p_term_key_id integer, p_analyzer_version smallint); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.index_chunks(p_user_hash text, p_ids uuid[], p_doc_ids text[], p_sources text[], p_text_ciphers bytea[], p_meta_ciphers bytea[], p_emb_ciphers bytea[], p_embeddings public.vector[], p_key_id integer, p_key_scheme smallint, p_lex_lengths integer[], p_lex_chunks integer[], p_lex_tokens bigint[], p_lex_tfs integer[], p_term_key_id integer, p_analyzer_version smallint) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.index_chunks(p_user_hash text, p_ids uuid[], p_doc_ids text[], p_sources text[], p_text_ciphers bytea[], p_meta_ciphers bytea[], p_emb_ciphers bytea[], p_embeddings public.vector[], p_key_id integer, p_key_scheme smallint, p_lex_lengths integer[], p_lex_chunks integer[], p_lex_tokens bigint[], p_lex_tfs integer[], p_term_key_id integer, p_analyzer_version smallint) TO memory_app;

--
-- Name: FUNCTION index_chunks(p_user_hash text, p_ids uuid[], p_doc_ids text[], p_sources text[], p_text_ciphers bytea[], p_meta_ciphers bytea[], p_emb_ciphers bytea[], p_embeddings public.vector[], p_key_id integer, p_key_scheme smallint, p_lex_lengths integer[], p_lex_chunks integer[], p_lex_tokens bigint[], p_lex_tfs integer[], p_term_key_id integer, p_analyzer_version smallint, p_vector_scheme smallint, p_vector_key_id integer); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.index_chunks(p_user_hash text, p_ids uuid[], p_doc_ids text[], p_sources text[], p_text_ciphers bytea[], p_meta_ciphers bytea[], p_emb_ciphers bytea[], p_embeddings public.vector[], p_key_id integer, p_key_scheme smallint, p_lex_lengths integer[], p_lex_chunks integer[], p_lex_tokens bigint[], p_lex_tfs integer[], p_term_key_id integer, p_analyzer_version smallint, p_vector_scheme smallint, p_vector_key_id integer) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.index_chunks(p_user_hash text, p_ids uuid[], p_doc_ids text[], p_sources text[], p_text_ciphers bytea[], p_meta_ciphers bytea[], p_emb_ciphers bytea[], p_embeddings public.vector[], p_key_id integer, p_key_scheme smallint, p_lex_lengths integer[], p_lex_chunks integer[], p_lex_tokens bigint[], p_lex_tfs integer[], p_term_key_id integer, p_analyzer_version smallint, p_vector_scheme smallint, p_vector_key_id integer) TO memory_app;

--
-- Name: FUNCTION key_stats(); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.key_stats() FROM PUBLIC;
GRANT ALL ON FUNCTION memory.key_stats() TO memory_app;
GRANT ALL ON FUNCTION memory.key_stats() TO memory_maintainer;

--
-- Name: FUNCTION key_usage(); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.key_usage() FROM PUBLIC;
GRANT ALL ON FUNCTION memory.key_usage() TO memory_maintainer;

--
-- Name: FUNCTION lexical_coverage(p_analyzer_version smallint); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.lexical_coverage(p_analyzer_version smallint) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.lexical_coverage(p_analyzer_version smallint) TO memory_maintainer;

--
-- Name: FUNCTION lexical_postings_by_chunk(p_chunks integer[], p_tokens bigint[], p_tfs integer[]); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.lexical_postings_by_chunk(p_chunks integer[], p_tokens bigint[], p_tfs integer[]) FROM PUBLIC;

--
-- Name: FUNCTION list_chunks(p_user_hash text, p_limit integer, p_doc_id text, p_source text, p_before_us bigint, p_before_id uuid); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.list_chunks(p_user_hash text, p_limit integer, p_doc_id text, p_source text, p_before_us bigint, p_before_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.list_chunks(p_user_hash text, p_limit integer, p_doc_id text, p_source text, p_before_us bigint, p_before_id uuid) TO memory_app;

--
-- Name: FUNCTION list_chunks_filtered(p_user_hash text, p_limit integer, p_doc_id text, p_source text, p_before_us bigint, p_before_id uuid, p_filter jsonb); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.list_chunks_filtered(p_user_hash text, p_limit integer, p_doc_id text, p_source text, p_before_us bigint, p_before_id uuid, p_filter jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.list_chunks_filtered(p_user_hash text, p_limit integer, p_doc_id text, p_source text, p_before_us bigint, p_before_id uuid, p_filter jsonb) TO memory_app;

--
-- Name: FUNCTION next_dek_id(); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.next_dek_id() FROM PUBLIC;
GRANT ALL ON FUNCTION memory.next_dek_id() TO memory_app;
GRANT ALL ON FUNCTION memory.next_dek_id() TO memory_maintainer;

--
-- Name: FUNCTION notify_event(p_event text, p_user_hash text, p_count integer, p_ids uuid[]); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.notify_event(p_event text, p_user_hash text, p_count integer, p_ids uuid[]) FROM PUBLIC;

--
-- Name: FUNCTION notify_keys_dropped(p_event text, p_dek_ids integer[], p_count integer); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.notify_keys_dropped(p_event text, p_dek_ids integer[], p_count integer) FROM PUBLIC;

--
-- Name: FUNCTION on_citus_worker(); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.on_citus_worker() FROM PUBLIC;

--
-- Name: FUNCTION record_idempotent_response(p_user_hash text, p_key_digest bytea, p_status integer, p_response jsonb); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.record_idempotent_response(p_user_hash text, p_key_digest bytea, p_status integer, p_response jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.record_idempotent_response(p_user_hash text, p_key_digest bytea, p_status integer, p_response jsonb) TO memory_app;

--
-- Name: FUNCTION refresh_key_stats(); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.refresh_key_stats() FROM PUBLIC;
GRANT ALL ON FUNCTION memory.refresh_key_stats() TO memory_maintainer;

--
-- Name: FUNCTION register_tenant_proof(p_user_hash text); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.register_tenant_proof(p_user_hash text) FROM PUBLIC;

--
-- Name: FUNCTION rehash_move_chunks(p_old_hash text, p_new_hash text, p_ids uuid[], p_text_ciphers bytea[], p_meta_ciphers bytea[], p_emb_ciphers bytea[]); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.rehash_move_chunks(p_old_hash text, p_new_hash text, p_ids uuid[], p_text_ciphers bytea[], p_meta_ciphers bytea[], p_emb_ciphers bytea[]) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.rehash_move_chunks(p_old_hash text, p_new_hash text, p_ids uuid[], p_text_ciphers bytea[], p_meta_ciphers bytea[], p_emb_ciphers bytea[]) TO memory_maintainer;

--
-- Name: FUNCTION rehash_move_keys(p_old_hash text, p_new_hash text, p_dek_ids integer[], p_wrapped bytea[], p_kek_id integer); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.rehash_move_keys(p_old_hash text, p_new_hash text, p_dek_ids integer[], p_wrapped bytea[], p_kek_id integer) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.rehash_move_keys(p_old_hash text, p_new_hash text, p_dek_ids integer[], p_wrapped bytea[], p_kek_id integer) TO memory_maintainer;

--
-- Name: FUNCTION rehash_move_proof(p_old_hash text, p_new_hash text, p_verifier bytea); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.rehash_move_proof(p_old_hash text, p_new_hash text, p_verifier bytea) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.rehash_move_proof(p_old_hash text, p_new_hash text, p_verifier bytea) TO memory_maintainer;

--
-- Name: FUNCTION rehash_read_chunks(p_old_hash text, p_limit integer, p_after_id uuid); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.rehash_read_chunks(p_old_hash text, p_limit integer, p_after_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.rehash_read_chunks(p_old_hash text, p_limit integer, p_after_id uuid) TO memory_maintainer;

--
-- Name: FUNCTION rehash_tenant_state(p_user_hash text); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.rehash_tenant_state(p_user_hash text) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.rehash_tenant_state(p_user_hash text) TO memory_maintainer;

--
-- Name: FUNCTION require_tenant_proofs(); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.require_tenant_proofs() FROM PUBLIC;
GRANT ALL ON FUNCTION memory.require_tenant_proofs() TO memory_maintainer;

--
-- Name: FUNCTION reset_setting(p_key text); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.reset_setting(p_key text) FROM PUBLIC;

--
-- Name: FUNCTION retire_kek(p_kek_id integer, p_active_kek_id integer); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.retire_kek(p_kek_id integer, p_active_kek_id integer) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.retire_kek(p_kek_id integer, p_active_kek_id integer) TO memory_maintainer;

--
-- Name: FUNCTION retired_keks(); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.retired_keks() FROM PUBLIC;
GRANT ALL ON FUNCTION memory.retired_keks() TO memory_maintainer;

--
-- Name: FUNCTION rotate_tenant_key(p_user_hash text, p_dek_id integer, p_wrapped_dek bytea, p_kek_id integer); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.rotate_tenant_key(p_user_hash text, p_dek_id integer, p_wrapped_dek bytea, p_kek_id integer) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.rotate_tenant_key(p_user_hash text, p_dek_id integer, p_wrapped_dek bytea, p_kek_id integer) TO memory_maintainer;

--
-- Name: FUNCTION search(p_user_hash text, p_embedding public.vector, p_limit integer, p_doc_id text, p_source text); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.search(p_user_hash text, p_embedding public.vector, p_limit integer, p_doc_id text, p_source text) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.search(p_user_hash text, p_embedding public.vector, p_limit integer, p_doc_id text, p_source text) TO memory_app;

--
-- Name: FUNCTION search_candidates(p_user_hash text, p_query public.vector, p_dense_limit integer, p_tokens bigint[], p_lexical_limit integer, p_doc_id text, p_source text, p_term_key_id integer); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.search_candidates(p_user_hash text, p_query public.vector, p_dense_limit integer, p_tokens bigint[], p_lexical_limit integer, p_doc_id text, p_source text, p_term_key_id integer) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.search_candidates(p_user_hash text, p_query public.vector, p_dense_limit integer, p_tokens bigint[], p_lexical_limit integer, p_doc_id text, p_source text, p_term_key_id integer) TO memory_app;

--
-- Name: FUNCTION search_candidates_chunks(p_user_hash text, p_query public.vector, p_dense_limit integer, p_tokens bigint[], p_lexical_limit integer, p_doc_id text, p_source text, p_term_key_id integer, p_filter jsonb); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.search_candidates_chunks(p_user_hash text, p_query public.vector, p_dense_limit integer, p_tokens bigint[], p_lexical_limit integer, p_doc_id text, p_source text, p_term_key_id integer, p_filter jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.search_candidates_chunks(p_user_hash text, p_query public.vector, p_dense_limit integer, p_tokens bigint[], p_lexical_limit integer, p_doc_id text, p_source text, p_term_key_id integer, p_filter jsonb) TO memory_app;

--
-- Name: FUNCTION search_candidates_chunks(p_user_hash text, p_queries public.vector[], p_query_schemes smallint[], p_query_key_ids integer[], p_dense_limit integer, p_tokens bigint[], p_lexical_limit integer, p_doc_id text, p_source text, p_term_key_id integer, p_filter jsonb); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.search_candidates_chunks(p_user_hash text, p_queries public.vector[], p_query_schemes smallint[], p_query_key_ids integer[], p_dense_limit integer, p_tokens bigint[], p_lexical_limit integer, p_doc_id text, p_source text, p_term_key_id integer, p_filter jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.search_candidates_chunks(p_user_hash text, p_queries public.vector[], p_query_schemes smallint[], p_query_key_ids integer[], p_dense_limit integer, p_tokens bigint[], p_lexical_limit integer, p_doc_id text, p_source text, p_term_key_id integer, p_filter jsonb) TO memory_app;

--
-- Name: FUNCTION search_hybrid(p_user_hash text, p_embedding public.vector, p_tokens bigint[], p_limit integer, p_doc_id text, p_source text, p_term_key_id integer); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.search_hybrid(p_user_hash text, p_embedding public.vector, p_tokens bigint[], p_limit integer, p_doc_id text, p_source text, p_term_key_id integer) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.search_hybrid(p_user_hash text, p_embedding public.vector, p_tokens bigint[], p_limit integer, p_doc_id text, p_source text, p_term_key_id integer) TO memory_app;

--
-- Name: FUNCTION search_is_exact(p_user_hash text); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.search_is_exact(p_user_hash text) FROM PUBLIC;

--
-- Name: FUNCTION search_layout(); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.search_layout() FROM PUBLIC;
GRANT ALL ON FUNCTION memory.search_layout() TO memory_app;
GRANT ALL ON FUNCTION memory.search_layout() TO memory_maintainer;

--
-- Name: FUNCTION search_lexical(p_user_hash text, p_tokens bigint[], p_limit integer, p_doc_id text, p_source text, p_term_key_id integer); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.search_lexical(p_user_hash text, p_tokens bigint[], p_limit integer, p_doc_id text, p_source text, p_term_key_id integer) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.search_lexical(p_user_hash text, p_tokens bigint[], p_limit integer, p_doc_id text, p_source text, p_term_key_id integer) TO memory_app;

--
-- Name: FUNCTION search_lexical_chunks(p_user_hash text, p_tokens bigint[], p_limit integer, p_doc_id text, p_source text, p_term_key_id integer, p_filter jsonb); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.search_lexical_chunks(p_user_hash text, p_tokens bigint[], p_limit integer, p_doc_id text, p_source text, p_term_key_id integer, p_filter jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.search_lexical_chunks(p_user_hash text, p_tokens bigint[], p_limit integer, p_doc_id text, p_source text, p_term_key_id integer, p_filter jsonb) TO memory_app;

--
-- Name: FUNCTION search_lexical_sql(p_has_doc_id boolean, p_has_source boolean); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.search_lexical_sql(p_has_doc_id boolean, p_has_source boolean) FROM PUBLIC;

--
-- Name: FUNCTION search_lexical_sql_filtered(p_has_doc_id boolean, p_has_source boolean, p_filter jsonb); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.search_lexical_sql_filtered(p_has_doc_id boolean, p_has_source boolean, p_filter jsonb) FROM PUBLIC;

--
-- Name: FUNCTION search_sql(p_has_doc_id boolean, p_has_source boolean, p_exact boolean); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.search_sql(p_has_doc_id boolean, p_has_source boolean, p_exact boolean) FROM PUBLIC;

--
-- Name: FUNCTION set_active_kek(p_kek_id integer); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.set_active_kek(p_kek_id integer) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.set_active_kek(p_kek_id integer) TO memory_maintainer;

--
-- Name: FUNCTION set_setting(p_key text, p_value jsonb); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.set_setting(p_key text, p_value jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.set_setting(p_key text, p_value jsonb) TO memory_maintainer;

--
-- Name: FUNCTION set_tenant(p_user_hash text); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.set_tenant(p_user_hash text) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.set_tenant(p_user_hash text) TO memory_app;

--
-- Name: FUNCTION set_tenant(p_user_hash text, p_proof text); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.set_tenant(p_user_hash text, p_proof text) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.set_tenant(p_user_hash text, p_proof text) TO memory_app;

--
-- Name: FUNCTION store_filter_tokens(p_user_hash text, p_ids uuid[], p_chunks integer[], p_tokens bigint[], p_key_id integer); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.store_filter_tokens(p_user_hash text, p_ids uuid[], p_chunks integer[], p_tokens bigint[], p_key_id integer) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.store_filter_tokens(p_user_hash text, p_ids uuid[], p_chunks integer[], p_tokens bigint[], p_key_id integer) TO memory_app;

--
-- Name: FUNCTION store_lexical(p_user_hashes text[], p_ids uuid[], p_term_key_ids integer[], p_lengths integer[], p_chunks integer[], p_tokens bigint[], p_tfs integer[], p_analyzer_version smallint); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.store_lexical(p_user_hashes text[], p_ids uuid[], p_term_key_ids integer[], p_lengths integer[], p_chunks integer[], p_tokens bigint[], p_tfs integer[], p_analyzer_version smallint) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.store_lexical(p_user_hashes text[], p_ids uuid[], p_term_key_ids integer[], p_lengths integer[], p_chunks integer[], p_tokens bigint[], p_tfs integer[], p_analyzer_version smallint) TO memory_maintainer;

--
-- Name: FUNCTION store_resealed(p_user_hashes text[], p_ids uuid[], p_text_ciphers bytea[], p_meta_ciphers bytea[], p_emb_ciphers bytea[], p_key_ids integer[]); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.store_resealed(p_user_hashes text[], p_ids uuid[], p_text_ciphers bytea[], p_meta_ciphers bytea[], p_emb_ciphers bytea[], p_key_ids integer[]) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.store_resealed(p_user_hashes text[], p_ids uuid[], p_text_ciphers bytea[], p_meta_ciphers bytea[], p_emb_ciphers bytea[], p_key_ids integer[]) TO memory_maintainer;

--
-- Name: FUNCTION store_rewrapped_deks(p_user_hashes text[], p_dek_ids integer[], p_wrapped bytea[], p_kek_id integer); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.store_rewrapped_deks(p_user_hashes text[], p_dek_ids integer[], p_wrapped bytea[], p_kek_id integer) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.store_rewrapped_deks(p_user_hashes text[], p_dek_ids integer[], p_wrapped bytea[], p_kek_id integer) TO memory_maintainer;

--
-- Name: FUNCTION store_search_vectors(p_user_hashes text[], p_ids uuid[], p_vectors public.vector[]); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.store_search_vectors(p_user_hashes text[], p_ids uuid[], p_vectors public.vector[]) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.store_search_vectors(p_user_hashes text[], p_ids uuid[], p_vectors public.vector[]) TO memory_maintainer;

--
-- Name: FUNCTION store_search_vectors(p_user_hashes text[], p_ids uuid[], p_vectors public.vector[], p_schemes smallint[], p_key_ids integer[]); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.store_search_vectors(p_user_hashes text[], p_ids uuid[], p_vectors public.vector[], p_schemes smallint[], p_key_ids integer[]) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.store_search_vectors(p_user_hashes text[], p_ids uuid[], p_vectors public.vector[], p_schemes smallint[], p_key_ids integer[]) TO memory_maintainer;

--
-- Name: FUNCTION store_tenant_verifiers(p_user_hashes text[], p_verifiers bytea[]); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.store_tenant_verifiers(p_user_hashes text[], p_verifiers bytea[]) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.store_tenant_verifiers(p_user_hashes text[], p_verifiers bytea[]) TO memory_maintainer;

--
-- Name: FUNCTION tenant_keys_of(p_user_hashes text[]); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.tenant_keys_of(p_user_hashes text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.tenant_keys_of(p_user_hashes text[]) TO memory_maintainer;

--
-- Name: FUNCTION tenant_lock_key(p_user_hash text); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.tenant_lock_key(p_user_hash text) FROM PUBLIC;

--
-- Name: FUNCTION tenant_proofs_required(); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.tenant_proofs_required() FROM PUBLIC;
GRANT ALL ON FUNCTION memory.tenant_proofs_required() TO memory_app;
GRANT ALL ON FUNCTION memory.tenant_proofs_required() TO memory_maintainer;

--
-- Name: FUNCTION tenant_stats(p_user_hash text); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.tenant_stats(p_user_hash text) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.tenant_stats(p_user_hash text) TO memory_app;

--
-- Name: FUNCTION tg__touch_updated_at(); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.tg__touch_updated_at() FROM PUBLIC;

--
-- Name: FUNCTION tg_chunk_vectors__search_sizes(); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.tg_chunk_vectors__search_sizes() FROM PUBLIC;

--
-- Name: FUNCTION tg_lexical_chunks__sync_postings(); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.tg_lexical_chunks__sync_postings() FROM PUBLIC;

--
-- Name: FUNCTION tg_memory_chunks__notify_indexed(); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.tg_memory_chunks__notify_indexed() FROM PUBLIC;

--
-- Name: FUNCTION tg_memory_chunks__touch_updated_at(); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.tg_memory_chunks__touch_updated_at() FROM PUBLIC;

--
-- Name: FUNCTION tg_settings__notify_changed(); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.tg_settings__notify_changed() FROM PUBLIC;

--
-- Name: FUNCTION trigger_target(p_trigger_relid oid, p_table text); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.trigger_target(p_trigger_relid oid, p_table text) FROM PUBLIC;

--
-- Name: FUNCTION update_chunk(p_user_hash text, p_id uuid, p_expected_version bigint, p_text_cipher bytea, p_meta_cipher bytea, p_emb_cipher bytea, p_embedding public.vector, p_key_id integer, p_key_scheme smallint, p_text_changed boolean, p_lex_length integer, p_lex_tokens bigint[], p_lex_tfs integer[], p_term_key_id integer, p_analyzer_version smallint); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.update_chunk(p_user_hash text, p_id uuid, p_expected_version bigint, p_text_cipher bytea, p_meta_cipher bytea, p_emb_cipher bytea, p_embedding public.vector, p_key_id integer, p_key_scheme smallint, p_text_changed boolean, p_lex_length integer, p_lex_tokens bigint[], p_lex_tfs integer[], p_term_key_id integer, p_analyzer_version smallint) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.update_chunk(p_user_hash text, p_id uuid, p_expected_version bigint, p_text_cipher bytea, p_meta_cipher bytea, p_emb_cipher bytea, p_embedding public.vector, p_key_id integer, p_key_scheme smallint, p_text_changed boolean, p_lex_length integer, p_lex_tokens bigint[], p_lex_tfs integer[], p_term_key_id integer, p_analyzer_version smallint) TO memory_app;

--
-- Name: FUNCTION update_chunk(p_user_hash text, p_id uuid, p_expected_version bigint, p_text_cipher bytea, p_meta_cipher bytea, p_emb_cipher bytea, p_embedding public.vector, p_key_id integer, p_key_scheme smallint, p_text_changed boolean, p_lex_length integer, p_lex_tokens bigint[], p_lex_tfs integer[], p_term_key_id integer, p_analyzer_version smallint, p_vector_scheme smallint, p_vector_key_id integer); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.update_chunk(p_user_hash text, p_id uuid, p_expected_version bigint, p_text_cipher bytea, p_meta_cipher bytea, p_emb_cipher bytea, p_embedding public.vector, p_key_id integer, p_key_scheme smallint, p_text_changed boolean, p_lex_length integer, p_lex_tokens bigint[], p_lex_tfs integer[], p_term_key_id integer, p_analyzer_version smallint, p_vector_scheme smallint, p_vector_key_id integer) FROM PUBLIC;
GRANT ALL ON FUNCTION memory.update_chunk(p_user_hash text, p_id uuid, p_expected_version bigint, p_text_cipher bytea, p_meta_cipher bytea, p_emb_cipher bytea, p_embedding public.vector, p_key_id integer, p_key_scheme smallint, p_text_changed boolean, p_lex_length integer, p_lex_tokens bigint[], p_lex_tfs integer[], p_term_key_id integer, p_analyzer_version smallint, p_vector_scheme smallint, p_vector_key_id integer) TO memory_app;

--
-- Name: FUNCTION validate_setting(p_key text, p_value jsonb); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.validate_setting(p_key text, p_value jsonb) FROM PUBLIC;

--
-- Name: FUNCTION vector_coverage(); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.vector_coverage() FROM PUBLIC;
GRANT ALL ON FUNCTION memory.vector_coverage() TO memory_maintainer;

--
-- Name: FUNCTION vector_protection(); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.vector_protection() FROM PUBLIC;
GRANT ALL ON FUNCTION memory.vector_protection() TO memory_maintainer;

--
-- Name: FUNCTION verify_rls_isolation(); Type: ACL; Schema: memory; Owner: memory_owner
--

REVOKE ALL ON FUNCTION memory.verify_rls_isolation() FROM PUBLIC;
GRANT ALL ON FUNCTION memory.verify_rls_isolation() TO memory_app;

--
-- PostgreSQL database dump complete
--

