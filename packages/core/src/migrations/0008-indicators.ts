/**
 * Beer's triple index. A unit declares indicators; each has targets (capability, potentiality) that
 * change over time, effective from a moment; readings of actuality arrive in time order, idempotent by
 * timestamp ((indicator, at) is the key). Each reading stores its three indices, computed against the
 * targets in effect at its time, and what the change detector said about it, so the series can be
 * plotted as it was seen. `indicators.detector_state` is the detector's memory after the latest reading.
 *
 * `indicator_overview()` and `indicator_latest(limit)` feed `/metrics` across tenants: aggregates, and
 * (only when the operator opts in) the latest indices of at most `limit` indicators by unit and
 * indicator id — never names or tenant ids.
 */
export const up = `
create table cybernetic.indicators (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references cybernetic.tenants on delete cascade,
  unit_id uuid not null,
  name text not null check (char_length(name) between 1 and 200),
  unit_of_measure text not null default '' check (char_length(unit_of_measure) <= 50),
  detector jsonb not null default '{}' check (jsonb_typeof(detector) = 'object'),
  detector_state jsonb not null default '{}' check (jsonb_typeof(detector_state) = 'object'),
  latest_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (tenant_id, id),
  unique (tenant_id, unit_id, name),
  foreign key (tenant_id, unit_id) references cybernetic.units (tenant_id, id) on delete cascade
);

create table cybernetic.indicator_targets (
  tenant_id uuid not null references cybernetic.tenants on delete cascade,
  indicator_id uuid not null,
  effective_from timestamptz not null,
  capability double precision not null check (capability > 0 and capability < 'infinity'),
  potentiality double precision not null check (potentiality >= capability and potentiality < 'infinity'),
  created_at timestamptz not null default now(),
  primary key (tenant_id, indicator_id, effective_from),
  foreign key (tenant_id, indicator_id) references cybernetic.indicators (tenant_id, id) on delete cascade
);

create table cybernetic.indicator_readings (
  tenant_id uuid not null references cybernetic.tenants on delete cascade,
  indicator_id uuid not null,
  at timestamptz not null,
  actuality double precision not null check (actuality >= 0 and actuality < 'infinity'),
  capability double precision not null,
  potentiality double precision not null,
  productivity double precision not null,
  latency double precision not null,
  performance double precision not null,
  smoothed double precision not null,
  forecast double precision,
  lower double precision,
  upper double precision,
  status text not null check (status in ('warmup', 'in_band', 'outlier', 'change')),
  direction text check (direction in ('up', 'down')),
  created_at timestamptz not null default now(),
  primary key (tenant_id, indicator_id, at),
  foreign key (tenant_id, indicator_id) references cybernetic.indicators (tenant_id, id) on delete cascade
);

do $$
declare
  t text;
begin
  foreach t in array array['indicators', 'indicator_targets', 'indicator_readings'] loop
    execute format('alter table cybernetic.%I enable row level security', t);
    execute format('alter table cybernetic.%I force row level security', t);
    execute format($p$create policy tenant_isolation on cybernetic.%I
      using (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid))
      with check (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid))$p$, t);
    execute format('create policy system_all on cybernetic.%I to cybernetic_system using (true) with check (true)', t);
    execute format('grant select, insert, update, delete on cybernetic.%I to cybernetic_system', t);
  end loop;
end
$$;
grant select, insert, update on cybernetic.indicators to cybernetic_app;
-- Targets and readings are a record: appended, never changed.
grant select, insert on cybernetic.indicator_targets, cybernetic.indicator_readings to cybernetic_app;

-- Metrics across tenants: how many indicators are in each state, and their mean indices.
create function cybernetic.indicator_overview()
returns table (status text, indicators bigint, productivity double precision, latency double precision,
               performance double precision)
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select r.status, count(*), avg(r.productivity), avg(r.latency), avg(r.performance)
    from cybernetic.indicators i
    join cybernetic.indicator_readings r
      on r.tenant_id = i.tenant_id and r.indicator_id = i.id and r.at = i.latest_at
   group by r.status
$$;

-- The latest indices of at most p_limit indicators, most recently read first (operator opt-in metrics).
create function cybernetic.indicator_latest(p_limit integer)
returns table (unit_id uuid, indicator_id uuid, productivity double precision, latency double precision,
               performance double precision)
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select i.unit_id, i.id, r.productivity, r.latency, r.performance
    from cybernetic.indicators i
    join cybernetic.indicator_readings r
      on r.tenant_id = i.tenant_id and r.indicator_id = i.id and r.at = i.latest_at
   order by i.latest_at desc
   limit greatest(0, least(p_limit, 10000))
$$;

do $$
declare
  f text;
begin
  if not (select rolsuper from pg_roles where rolname = current_user) then
    execute format('grant cybernetic_system to %I', current_user);
  end if;
  foreach f in array array['indicator_overview()', 'indicator_latest(integer)'] loop
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
