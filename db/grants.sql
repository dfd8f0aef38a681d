-- Ownership and privileges of every memory object. Idempotent: the migrations include it after
-- creating objects, and the rollback runbook re-runs it after re-applying procedure files.
--
-- Ownership: everything belongs to memory_owner, which is subject to FORCE RLS, so SECURITY DEFINER
-- procedures run with RLS applied (a superuser owner would bypass it).
alter schema memory owner to memory_owner;
do $owner$
declare
  v_table regclass;
  v_fn regprocedure;
begin
  for v_table in select c.oid::regclass from pg_catalog.pg_class c where c.relnamespace = 'memory'::regnamespace and c.relkind in ('r', 'S', 'v', 'm') loop
    execute format('alter table %s owner to memory_owner', v_table);
  end loop;
  for v_fn in select p.oid::regprocedure from pg_catalog.pg_proc p where p.pronamespace = 'memory'::regnamespace loop
    execute format('alter function %s owner to memory_owner', v_fn);
  end loop;
end
$owner$;

-- Privileges: tables are private; the app role gets EXECUTE on the interface procedures only.
revoke all on all tables in schema memory from public;
revoke all on all functions in schema memory from public;
grant usage on schema memory to memory_app;
grant execute on function
  memory.set_tenant(text),
  memory.set_tenant(text, text),
  memory.tenant_proofs_required(),
  memory.index_chunk(text, uuid, text, text, bytea, bytea, bytea, public.vector, integer, smallint),
  memory.index_chunks(text, uuid[], text[], text[], bytea[], bytea[], bytea[], public.vector[], integer, smallint, integer[], integer[], bigint[], integer[], integer, smallint),
  memory.index_chunks(text, uuid[], text[], text[], bytea[], bytea[], bytea[], public.vector[], integer, smallint, integer[], integer[], bigint[], integer[], integer, smallint, smallint, integer),
  memory.search(text, public.vector, integer, text, text),
  memory.search_lexical(text, bigint[], integer, text, text, integer),
  memory.search_hybrid(text, public.vector, bigint[], integer, text, text, integer),
  memory.search_candidates(text, public.vector, integer, bigint[], integer, text, text, integer),
  memory.explain_search_lexical(text, bigint[], integer, boolean),
  memory.get_chunks(text, uuid[]),
  memory.get_chunk(text, uuid),
  memory.list_chunks(text, integer, text, text, bigint, uuid),
  memory.list_chunks_filtered(text, integer, text, text, bigint, uuid, jsonb),
  memory.search_lexical_chunks(text, bigint[], integer, text, text, integer, jsonb),
  memory.search_candidates_chunks(text, public.vector, integer, bigint[], integer, text, text, integer, jsonb),
  memory.search_candidates_chunks(text, public.vector[], smallint[], integer[], integer, bigint[], integer, text, text, integer, jsonb),
  memory.filter_backlog(text, integer),
  memory.store_filter_tokens(text, uuid[], integer[], bigint[], integer),
  memory.update_chunk(text, uuid, bigint, bytea, bytea, bytea, public.vector, integer, smallint, boolean, integer, bigint[], integer[], integer, smallint),
  memory.update_chunk(text, uuid, bigint, bytea, bytea, bytea, public.vector, integer, smallint, boolean, integer, bigint[], integer[], integer, smallint, smallint, integer),
  memory.delete_chunk(text, uuid, bigint),
  memory.claim_idempotency_key(text, bytea, bytea),
  memory.record_idempotent_response(text, bytea, integer, jsonb),
  memory.delete_doc(text, text),
  memory.forget_tenant(text),
  memory.tenant_stats(text),
  memory.get_settings(),
  memory.health(),
  memory.embedding_dim(),
  memory.explain_search(text, public.vector, integer, boolean),
  memory.search_layout(),
  memory.explain_lookup(text),
  memory.verify_rls_isolation(),
  memory.next_dek_id(),
  memory.get_tenant_keys(text),
  memory.add_tenant_key(text, integer, bytea, integer),
  memory.key_stats()
to memory_app;

-- The maintainer runs key rotation, re-sealing and re-hashing (cross-tenant, maintenance mode).
grant usage on schema memory to memory_maintainer;
grant execute on function
  memory.get_settings(),
  memory.set_setting(text, jsonb),
  memory.health(),
  memory.next_dek_id(),
  memory.get_tenant_keys(text),
  memory.add_tenant_key(text, integer, bytea, integer),
  memory.claim_dek_rewrap(integer, integer),
  memory.store_rewrapped_deks(text[], integer[], bytea[], integer),
  memory.key_usage(),
  memory.claim_reseal(integer, text, text, uuid),
  memory.store_resealed(text[], uuid[], bytea[], bytea[], bytea[], integer[]),
  memory.rotate_tenant_key(text, integer, bytea, integer),
  memory.drop_retired_tenant_keys(text),
  memory.tenant_keys_of(text[]),
  memory.rehash_read_chunks(text, integer, uuid),
  memory.rehash_move_chunks(text, text, uuid[], bytea[], bytea[], bytea[]),
  memory.rehash_move_keys(text, text, integer[], bytea[], integer),
  memory.rehash_tenant_state(text),
  memory.set_active_kek(integer),
  memory.retire_kek(integer, integer),
  memory.retired_keks(),
  memory.refresh_key_stats(),
  memory.key_stats(),
  memory.claim_lexical_reindex(integer, smallint, text, text, uuid),
  memory.store_lexical(text[], uuid[], integer[], integer[], integer[], bigint[], integer[], smallint),
  memory.lexical_coverage(smallint),
  memory.claim_vector_backfill(integer, text, text, uuid),
  memory.store_search_vectors(text[], uuid[], public.vector[]),
  memory.store_search_vectors(text[], uuid[], public.vector[], smallint[], integer[]),
  memory.vector_protection(),
  memory.vector_coverage(),
  memory.search_layout(),
  memory.finish_vector_backfill(),
  memory.tenant_proofs_required(),
  memory.add_tenant_key_in_maintenance(text, integer, bytea, integer),
  memory.claim_tenant_proofs(integer, text),
  memory.store_tenant_verifiers(text[], bytea[]),
  memory.require_tenant_proofs(),
  memory.rehash_move_proof(text, text, bytea)
to memory_maintainer;
grant usage on sequence memory.tenant_key_id_seq to memory_owner;
