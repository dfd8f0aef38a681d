-- A tenant's proof verifier (memory.tenant_proofs): the same isolation as its chunks and keys.
drop policy if exists tenant_proofs_isolation on memory.tenant_proofs;
create policy tenant_proofs_isolation on memory.tenant_proofs
  for all
  using (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()))
  with check (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()));
