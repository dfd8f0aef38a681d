-- Per-database bootstrap: run by a superuser in the memvault database before migrations.
-- pgvector is not a trusted extension, so a plain migrator could not create it.
create extension if not exists vector;
-- Only the memvault roles connect (the owner and superusers always can): PUBLIC's default CONNECT
-- would let any role of the cluster LISTEN to memory_events and NOTIFY on it. The app gets nothing
-- else on the database.
do $grant$
begin
  execute format('revoke connect on database %I from public', current_database());
  execute format('grant connect on database %I to memory_app, memory_maintainer', current_database());
end
$grant$;
-- Since PostgreSQL 15 PUBLIC has no CREATE on schema public; revoke for older servers too.
revoke create on schema public from public;
