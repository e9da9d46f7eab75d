/**
 * Recursion: a tenant is the root of a tree of viable units, each with its own S1..S5 states.
 *
 * `units.path` holds the ids from the root down to the unit itself (so `path[depth + 1] = id`): "is X
 * below P" is `P = any(X.path)`, a subtree is `path @> array[P]`, and a move rewrites the prefix of its
 * subtree's paths in one statement. Depth is bounded (0 for the root, at most 8), one root per tenant,
 * slugs unique among siblings. The composite foreign keys `(tenant_id, unit_id)` make a reference to
 * another tenant's unit impossible, whatever row-level security shows.
 *
 * Every existing tenant gets a root unit (named like the tenant), and its five system states and their
 * history become that root's. Episodes, policies and artifacts gain a `unit_id`; a row written without
 * one belongs to the tenant's root unit (the `default_root_unit` trigger, which runs as the writer, so
 * row-level security decides which root it can see).
 *
 * The backfill must see every tenant's rows, but the owner is bound by FORCE ROW LEVEL SECURITY (see
 * 0001). The migration lifts FORCE on the tables it backfills for the length of its own transaction and
 * restores it before committing: the owner then bypasses RLS as table owners do, and nobody else can
 * observe the gap (DDL locks the tables until COMMIT).
 */
export const up = `
create table cybernetic.units (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references cybernetic.tenants on delete cascade,
  parent_id uuid,
  name text not null check (char_length(name) between 1 and 200),
  slug text not null
    check (char_length(slug) <= 63 and slug ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$'),
  path uuid[] not null,
  depth smallint not null check (depth between 0 and 8),
  alerts jsonb not null default '[]' check (jsonb_typeof(alerts) = 'array'),
  escalation_seconds integer not null default 900 check (escalation_seconds between 60 and 2592000),
  state_interval_seconds integer check (state_interval_seconds between 60 and 31536000),
  archived_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (tenant_id, id),
  foreign key (tenant_id, parent_id) references cybernetic.units (tenant_id, id),
  check ((parent_id is null) = (depth = 0)),
  check (cardinality(path) = depth + 1 and path[depth + 1] = id)
);
create unique index units_root_idx on cybernetic.units (tenant_id) where parent_id is null;
create unique index units_sibling_slug_idx on cybernetic.units (tenant_id, parent_id, slug)
  where parent_id is not null;
create index units_tenant_parent_idx on cybernetic.units (tenant_id, parent_id);

-- Backfill: one root per existing tenant (see the header for the FORCE dance).
alter table cybernetic.tenants no force row level security;
alter table cybernetic.system_states no force row level security;
alter table cybernetic.system_state_history no force row level security;
alter table cybernetic.episodes no force row level security;
alter table cybernetic.policies no force row level security;
alter table cybernetic.artifacts no force row level security;

with roots as (select gen_random_uuid() as id, t.id as tenant_id, t.name, t.slug from cybernetic.tenants t)
insert into cybernetic.units (id, tenant_id, parent_id, name, slug, path, depth)
select r.id, r.tenant_id, null, r.name, r.slug, array[r.id], 0 from roots r;

-- System states belong to a unit.
alter table cybernetic.system_states add column unit_id uuid;
update cybernetic.system_states s set unit_id = u.id
  from cybernetic.units u where u.tenant_id = s.tenant_id and u.parent_id is null;
alter table cybernetic.system_states alter column unit_id set not null;
alter table cybernetic.system_states drop constraint system_states_pkey;
alter table cybernetic.system_states add primary key (tenant_id, unit_id, system);
alter table cybernetic.system_states add constraint system_states_unit_fkey
  foreign key (tenant_id, unit_id) references cybernetic.units (tenant_id, id) on delete cascade;

alter table cybernetic.system_state_history add column unit_id uuid;
update cybernetic.system_state_history h set unit_id = u.id
  from cybernetic.units u where u.tenant_id = h.tenant_id and u.parent_id is null;
alter table cybernetic.system_state_history alter column unit_id set not null;
alter table cybernetic.system_state_history drop constraint system_state_history_tenant_id_system_version_key;
alter table cybernetic.system_state_history add constraint system_state_history_unit_version_key
  unique (tenant_id, unit_id, system, version);
alter table cybernetic.system_state_history add constraint system_state_history_unit_fkey
  foreign key (tenant_id, unit_id) references cybernetic.units (tenant_id, id) on delete cascade;

-- Episodes, policies and artifacts name a unit (the root when the writer names none).
alter table cybernetic.episodes add column unit_id uuid;
alter table cybernetic.policies add column unit_id uuid;
alter table cybernetic.artifacts add column unit_id uuid;
update cybernetic.episodes x set unit_id = u.id
  from cybernetic.units u where u.tenant_id = x.tenant_id and u.parent_id is null;
update cybernetic.policies x set unit_id = u.id
  from cybernetic.units u where u.tenant_id = x.tenant_id and u.parent_id is null;
update cybernetic.artifacts x set unit_id = u.id
  from cybernetic.units u where u.tenant_id = x.tenant_id and u.parent_id is null;

create function cybernetic.default_root_unit() returns trigger
language plpgsql as $$
begin
  if new.unit_id is null then
    -- Runs as the writer: row-level security shows it only its own tenant's root.
    select u.id into new.unit_id from cybernetic.units u
     where u.tenant_id = new.tenant_id and u.parent_id is null;
    -- No root in sight for the writer's own tenant: the tenant does not exist. Report it as the foreign
    -- key the row breaks, as before units existed. A row for another tenant is left to row-level
    -- security, which refuses it (its check comes before the NOT NULL one).
    if new.unit_id is null
       and new.tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid) then
      raise foreign_key_violation using message = 'the tenant has no root unit', table = tg_table_name;
    end if;
  end if;
  return new;
end
$$;

do $$
declare
  t text;
begin
  foreach t in array array['system_states', 'system_state_history', 'episodes', 'policies', 'artifacts'] loop
    execute format('alter table cybernetic.%I alter column unit_id set not null', t);
    execute format('create trigger %I before insert on cybernetic.%I for each row execute function cybernetic.default_root_unit()', t || '_default_unit', t);
  end loop;
  foreach t in array array['episodes', 'policies', 'artifacts'] loop
    execute format('alter table cybernetic.%I add constraint %I foreign key (tenant_id, unit_id) references cybernetic.units (tenant_id, id) on delete cascade', t, t || '_unit_fkey');
  end loop;
end
$$;
create index episodes_tenant_unit_idx on cybernetic.episodes (tenant_id, unit_id, created_at desc);
create index policies_tenant_unit_idx on cybernetic.policies (tenant_id, unit_id);
create index artifacts_tenant_unit_idx on cybernetic.artifacts (tenant_id, unit_id);

alter table cybernetic.tenants force row level security;
alter table cybernetic.system_states force row level security;
alter table cybernetic.system_state_history force row level security;
alter table cybernetic.episodes force row level security;
alter table cybernetic.policies force row level security;
alter table cybernetic.artifacts force row level security;

-- Row-level security on units, as on every tenant table.
alter table cybernetic.units enable row level security;
alter table cybernetic.units force row level security;
create policy tenant_isolation on cybernetic.units
  using (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid))
  with check (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));
create policy system_all on cybernetic.units to cybernetic_system using (true) with check (true);
-- No DELETE: units are archived, never deleted (their history stays).
grant select, insert, update on cybernetic.units to cybernetic_app;
grant select, insert, update, delete on cybernetic.units to cybernetic_system;
`;
