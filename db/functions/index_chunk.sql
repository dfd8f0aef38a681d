-- One chunk: a batch of one, so there is a single code path for validation and storage.
create or replace function memory.index_chunk(
  p_user_hash text,
  p_id uuid,
  p_doc_id text,
  p_source text,
  p_text_cipher bytea,
  p_meta_cipher bytea,
  p_emb_cipher bytea,
  p_embedding public.vector,
  p_key_id integer,
  p_key_scheme smallint
)
returns integer
language sql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
  select memory.index_chunks(
    p_user_hash, array[p_id], array[p_doc_id], array[p_source], array[p_text_cipher],
    array[p_meta_cipher], array[p_emb_cipher], array[p_embedding], p_key_id, p_key_scheme);
$$;
