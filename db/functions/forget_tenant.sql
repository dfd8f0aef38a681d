-- Forgets a tenant entirely: destroys its data keys first (crypto-shredding: any copy of its blobs
-- that survives elsewhere can no longer be opened), then deletes all its chunks, in one transaction.
-- Returns how many chunks were deleted. The tenant's lock is taken exclusively (memory.enter_tenant):
-- writes in flight for the tenant commit first and are deleted here too; later ones find no key.
-- Its idempotency keys go too (their records name the chunk ids it wrote), and its proof verifier.
create or replace function memory.forget_tenant(p_user_hash text)
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
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
