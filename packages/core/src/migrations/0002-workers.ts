/**
 * What the workers need: a record of every (event, policy) evaluation (so no event is evaluated twice
 * against the same policy), durable cursors for outbox consumers, and the narrow cross-tenant functions
 * housekeeping runs (each deletes only what retention says may go).
 */
export const up = `
create table cybernetic.policy_evaluations (
  tenant_id uuid not null references cybernetic.tenants on delete cascade,
  event_id bigint not null,
  policy_id uuid not null references cybernetic.policies on delete cascade,
  matched boolean not null,
  outcome jsonb not null default '{}',
  evaluated_at timestamptz not null default now(),
  primary key (tenant_id, event_id, policy_id)
);
create index policy_evaluations_evaluated_idx on cybernetic.policy_evaluations (evaluated_at);
alter table cybernetic.policy_evaluations enable row level security;
alter table cybernetic.policy_evaluations force row level security;
create policy tenant_isolation on cybernetic.policy_evaluations
  using (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid))
  with check (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));
create policy system_all on cybernetic.policy_evaluations to cybernetic_system using (true) with check (true);
grant select, insert on cybernetic.policy_evaluations to cybernetic_app;
grant select, insert, update, delete on cybernetic.policy_evaluations to cybernetic_system;

-- A consumer's position in the published outbox (e.g. the S5 dispatcher). Not tenant data: one row per
-- consumer, advanced in the same transaction as the work it hands out.
create table cybernetic.event_consumers (
  name text primary key check (name ~ '^[a-z][a-z0-9_.-]{0,62}$'),
  last_id bigint not null default 0,
  updated_at timestamptz not null default now()
);
grant select, insert, update on cybernetic.event_consumers to cybernetic_app;

-- Housekeeping --------------------------------------------------------------------------------------------
-- Deletes published events (and their evaluation records) created before p_before, oldest first, at most
-- p_limit per call. Returns how many events went.
create function cybernetic.purge_events(p_before timestamptz, p_limit integer default 10000)
returns integer
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_count integer;
  v_max bigint;
begin
  with doomed as (
    select e.seq, e.id from cybernetic.events e
     where e.id is not null and e.created_at < p_before
     order by e.id limit greatest(1, least(p_limit, 100000))
  ), gone as (
    delete from cybernetic.events e using doomed where e.seq = doomed.seq returning e.id
  )
  select count(*), max(gone.id) into v_count, v_max from gone;
  if v_max is not null then
    delete from cybernetic.policy_evaluations pe where pe.event_id <= v_max;
  end if;
  return v_count;
end
$$;

-- Telegram update ids kept for deduplication, older than p_before.
create function cybernetic.purge_telegram_updates(p_before timestamptz)
returns integer
language sql volatile security definer set search_path = pg_catalog, pg_temp as $$
  with gone as (delete from cybernetic.telegram_updates t where t.received_at < p_before returning 1)
  select count(*)::integer from gone
$$;

-- Artifacts past their expires_at, across tenants (housekeeping then deletes each within its tenant).
create function cybernetic.expired_artifacts(p_limit integer default 1000)
returns table (tenant_id uuid, id uuid, path text)
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select a.tenant_id, a.id, a.path from cybernetic.artifacts a
   where a.expires_at is not null and a.expires_at <= now()
   order by a.expires_at limit greatest(1, least(p_limit, 10000))
$$;

do $$
declare
  f text;
begin
  if not (select rolsuper from pg_roles where rolname = current_user) then
    execute format('grant cybernetic_system to %I', current_user);
  end if;
  foreach f in array array['purge_events(timestamptz, integer)', 'purge_telegram_updates(timestamptz)',
                           'expired_artifacts(integer)'] loop
    execute format('alter function cybernetic.%s owner to cybernetic_system', f);
    execute format('revoke all on function cybernetic.%s from public', f);
    execute format('grant execute on function cybernetic.%s to cybernetic_app', f);
  end loop;
  if not (select rolsuper from pg_roles where rolname = current_user) then
    execute format('revoke cybernetic_system from %I', current_user);
  end if;
end
$$;
`;
