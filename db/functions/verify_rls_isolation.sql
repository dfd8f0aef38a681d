-- Proves on the live database that one tenant can neither read nor write another's rows, through
-- the same policy the procedures rely on. It writes probe rows for two random tenants inside a
-- subtransaction and rolls it back, so it leaves nothing behind.
create or replace function memory.verify_rls_isolation()
returns table (check_name text, passed boolean, detail text)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
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
