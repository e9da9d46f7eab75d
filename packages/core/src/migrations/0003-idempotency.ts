/**
 * Idempotency keys: a client that retries a POST with the same `Idempotency-Key` gets the first
 * attempt's answer instead of a second effect. `committed_at` is set in the same transaction as the
 * request's own writes (see `withTenant`), so "did the first attempt take effect?" always has an answer,
 * even when its response was lost with its connection.
 */
export const up = `
create table cybernetic.idempotency_keys (
  tenant_id uuid not null references cybernetic.tenants on delete cascade,
  key text not null check (char_length(key) between 1 and 255),
  fingerprint bytea not null check (octet_length(fingerprint) = 32),
  locked_until timestamptz,
  committed_at timestamptz,
  response_status smallint check (response_status between 100 and 599),
  response_body jsonb,
  created_at timestamptz not null default now(),
  completed_at timestamptz,
  primary key (tenant_id, key)
);
create index idempotency_keys_created_idx on cybernetic.idempotency_keys (created_at);
alter table cybernetic.idempotency_keys enable row level security;
alter table cybernetic.idempotency_keys force row level security;
create policy tenant_isolation on cybernetic.idempotency_keys
  using (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid))
  with check (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));
create policy system_all on cybernetic.idempotency_keys to cybernetic_system using (true) with check (true);
grant select, insert, update, delete on cybernetic.idempotency_keys to cybernetic_app;
grant select, insert, update, delete on cybernetic.idempotency_keys to cybernetic_system;

-- Keys older than p_before, across tenants (housekeeping).
create function cybernetic.purge_idempotency_keys(p_before timestamptz)
returns integer
language sql volatile security definer set search_path = pg_catalog, pg_temp as $$
  with gone as (delete from cybernetic.idempotency_keys k where k.created_at < p_before returning 1)
  select count(*)::integer from gone
$$;

do $$
begin
  if not (select rolsuper from pg_roles where rolname = current_user) then
    execute format('grant cybernetic_system to %I', current_user);
  end if;
  alter function cybernetic.purge_idempotency_keys(timestamptz) owner to cybernetic_system;
  revoke all on function cybernetic.purge_idempotency_keys(timestamptz) from public;
  grant execute on function cybernetic.purge_idempotency_keys(timestamptz) to cybernetic_app;
  if not (select rolsuper from pg_roles where rolname = current_user) then
    execute format('revoke cybernetic_system from %I', current_user);
  end if;
end
$$;
`;
