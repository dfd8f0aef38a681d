-- memory.tenant_search_sizes (how many search vectors a tenant has at most): the tenant isolation
-- of memory_chunks, so one tenant cannot learn another's size.
drop policy if exists tenant_search_sizes_isolation on memory.tenant_search_sizes;
create policy tenant_search_sizes_isolation on memory.tenant_search_sizes
  for all
  using (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()))
  with check (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()));
