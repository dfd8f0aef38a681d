-- Sets the transaction-local tenant context that the RLS policy reads. Every tenant procedure calls
-- this first. It refuses a malformed hash and refuses to switch tenants inside one transaction, so a
-- caller cannot mix two tenants' work in one transaction by accident.
create or replace function memory.set_tenant(p_user_hash text)
returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_current text := coalesce(current_setting('memory.user_hash', true), '');
begin
  if p_user_hash is null or p_user_hash !~ '^[0-9a-f]{64}$' then
    raise exception 'user_hash must be 64 lowercase hex characters' using errcode = 'MV001';
  end if;
  if coalesce(current_setting('memory.maintenance', true), '') = 'on' then
    raise exception 'this transaction is in maintenance mode' using errcode = 'MV004';
  end if;
  if v_current <> '' and v_current <> p_user_hash then
    raise exception 'this transaction already acts for another tenant' using errcode = 'MV004';
  end if;
  perform set_config('memory.user_hash', p_user_hash, true);
end;
$$;
