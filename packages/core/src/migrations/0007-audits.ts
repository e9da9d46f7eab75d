/**
 * S3*: sporadic audits that look past what S1 reports. An audit is written whole, in one transaction
 * with its findings, their `audit.finding` events and the alerts its severe findings raise: it exists
 * complete or not at all. Both tables are a record (select and insert only for the application).
 */
export const up = `
create table cybernetic.audits (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references cybernetic.tenants on delete cascade,
  unit_id uuid not null,
  trigger text not null check (trigger in ('scheduled', 'manual')),
  started_at timestamptz not null,
  finished_at timestamptz not null,
  summary jsonb not null default '{}' check (jsonb_typeof(summary) = 'object'),
  unique (tenant_id, id),
  foreign key (tenant_id, unit_id) references cybernetic.units (tenant_id, id) on delete cascade
);
create index audits_tenant_started_idx on cybernetic.audits (tenant_id, started_at desc, id desc);

create table cybernetic.audit_findings (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references cybernetic.tenants on delete cascade,
  audit_id uuid not null,
  unit_id uuid not null,
  check_name text not null check (check_name ~ '^[a-z][a-z_]{0,62}$'),
  severity text not null check (severity in ('info', 'warning', 'severe')),
  subject jsonb not null check (jsonb_typeof(subject) = 'object'),
  message text not null check (char_length(message) between 1 and 2000),
  details jsonb not null default '{}' check (jsonb_typeof(details) = 'object'),
  created_at timestamptz not null default now(),
  foreign key (tenant_id, audit_id) references cybernetic.audits (tenant_id, id) on delete cascade,
  foreign key (tenant_id, unit_id) references cybernetic.units (tenant_id, id) on delete cascade
);
create index audit_findings_audit_idx on cybernetic.audit_findings (tenant_id, audit_id);
create index audit_findings_unit_idx on cybernetic.audit_findings (tenant_id, unit_id, created_at desc);

do $$
declare
  t text;
begin
  foreach t in array array['audits', 'audit_findings'] loop
    execute format('alter table cybernetic.%I enable row level security', t);
    execute format('alter table cybernetic.%I force row level security', t);
    execute format($p$create policy tenant_isolation on cybernetic.%I
      using (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid))
      with check (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid))$p$, t);
    execute format('create policy system_all on cybernetic.%I to cybernetic_system using (true) with check (true)', t);
    execute format('grant select, insert on cybernetic.%I to cybernetic_app', t);
    execute format('grant select, insert, update, delete on cybernetic.%I to cybernetic_system', t);
  end loop;
end
$$;

-- Active tenants' ids after a cursor, for the audit scheduler (ids only: nothing else crosses tenants).
create function cybernetic.active_tenant_ids(p_after uuid, p_limit integer default 1000)
returns table (id uuid)
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select t.id from cybernetic.tenants t
   where t.active and (p_after is null or t.id > p_after)
   order by t.id
   limit greatest(1, least(p_limit, 10000))
$$;

do $$
begin
  if not (select rolsuper from pg_roles where rolname = current_user) then
    execute format('grant cybernetic_system to %I', current_user);
  end if;
  alter function cybernetic.active_tenant_ids(uuid, integer) owner to cybernetic_system;
  revoke all on function cybernetic.active_tenant_ids(uuid, integer) from public;
  grant execute on function cybernetic.active_tenant_ids(uuid, integer) to cybernetic_app;
  if not (select rolsuper from pg_roles where rolname = current_user) then
    execute format('revoke cybernetic_system from %I', current_user);
  end if;
end
$$;
`;
