-- What the tenant-proof check costs inside the database per tenant procedure call (docs/CRYPTO.md):
-- 20,000 calls of memory.assert_tenant_proof against 20,000 of a trivial function, twice each.
-- Run against a development database (it writes one verifier for a made-up tenant):
--   eval "$(scripts/dev-env.sh)"; psql "$DATABASE_URL" -q -f scripts/tenant-proof-cost.sql
\timing off
-- one tenant with a verifier (proof = 32 bytes of 0x11), as the daemon's first write leaves it
select set_config('memory.user_hash', repeat('ab', 32), false);
insert into memory.tenant_proofs (user_hash, verifier) values (repeat('ab', 32), sha256(decode(repeat('11', 32), 'hex'))) on conflict do nothing;
select set_config('memory.tenant_proof', repeat('11', 32), false);
\timing on
do $$ begin for i in 1..20000 loop perform memory.tenant_lock_key(repeat('ab', 32)); end loop; end $$;
do $$ begin for i in 1..20000 loop perform memory.assert_tenant_proof(repeat('ab', 32)); end loop; end $$;
do $$ begin for i in 1..20000 loop perform memory.tenant_lock_key(repeat('ab', 32)); end loop; end $$;
do $$ begin for i in 1..20000 loop perform memory.assert_tenant_proof(repeat('ab', 32)); end loop; end $$;
