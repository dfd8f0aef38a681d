-- Tenant isolation: a row is visible and writable only when its user_hash equals the transaction's
-- tenant context. The setting is read through a sub-select so it is evaluated once per query, not
-- once per row. No context (NULL or '') or a malformed one matches nothing, since user_hash is
-- always 64 hex characters. The second arm admits maintenance jobs (memory.in_maintenance(): a
-- memory_maintainer session that entered maintenance mode in this transaction).
drop policy if exists memory_tenant_isolation on memory.memory_chunks;
create policy memory_tenant_isolation on memory.memory_chunks
  for all
  using (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()))
  with check (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()));

-- A tenant's data keys: the same isolation.
drop policy if exists tenant_keys_isolation on memory.tenant_keys;
create policy tenant_keys_isolation on memory.tenant_keys
  for all
  using (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()))
  with check (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()));

-- Settings are not tenant data: readable and writable by the owner's procedures.
drop policy if exists settings_owner_access on memory.settings;
create policy settings_owner_access on memory.settings
  for all
  using (true)
  with check (true);

-- The lexical index (a chunk's analysis, its postings, the tenant's counts): the same isolation.
drop policy if exists lexical_chunks_isolation on memory.lexical_chunks;
create policy lexical_chunks_isolation on memory.lexical_chunks
  for all
  using (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()))
  with check (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()));

drop policy if exists lexical_postings_isolation on memory.lexical_postings;
create policy lexical_postings_isolation on memory.lexical_postings
  for all
  using (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()))
  with check (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()));

drop policy if exists lexical_stats_isolation on memory.lexical_stats;
create policy lexical_stats_isolation on memory.lexical_stats
  for all
  using (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()))
  with check (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()));

-- A tenant's idempotency keys (memory.claim_idempotency_key): the same isolation.
drop policy if exists idempotency_keys_tenant_isolation on memory.idempotency_keys;
create policy idempotency_keys_tenant_isolation on memory.idempotency_keys
  for all
  using (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()))
  with check (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()));
