-- The narrow search layout (memory.chunk_vectors): the tenant isolation of memory_chunks.
drop policy if exists chunk_vectors_isolation on memory.chunk_vectors;
create policy chunk_vectors_isolation on memory.chunk_vectors
  for all
  using (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()))
  with check (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()));
