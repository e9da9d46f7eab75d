/**
 * S2 damping and algedonic alerts: both decide when something fires.
 *
 * `policy_damping` is each damped policy's (`for` / `cooldown`) memory: since when its condition has held,
 * when it last fired, the last event it decided on, and how many firings it held back, by reason.
 * Evaluations of a damped policy lock its row, so they decide one at a time and in event order.
 * `policy_evaluations` gains an index by policy, for `GET /v1/policies/:id/evaluations`.
 *
 * Algedonic alerts with a lifecycle (raised → acknowledged → resolved) that climb the unit tree while
 * nobody acknowledges them.
 *
 * `unit_id` is where an alert was raised, `level_unit_id` where it is raised now; `escalation_step` counts
 * the levels climbed, and `next_escalation_at` says when it climbs again (null once acknowledged,
 * resolved, or at the root). The escalation job finds due alerts across tenants through
 * `due_alerts(now, limit)` and climbs each one in its own tenant's transaction with a conditional update
 * on (status, step), so a step happens once however many workers race for it. `(tenant_id, key)` is
 * unique: the same signal raised twice (a retried job) is one alert.
 */
export const up = `
create table cybernetic.policy_damping (
  tenant_id uuid not null references cybernetic.tenants on delete cascade,
  policy_id uuid not null references cybernetic.policies on delete cascade,
  pending_since timestamptz,
  firing boolean not null default false,
  last_fired_at timestamptz,
  last_event_id bigint not null default 0,
  suppressed jsonb not null default '{}' check (jsonb_typeof(suppressed) = 'object'),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, policy_id)
);
alter table cybernetic.policy_damping enable row level security;
alter table cybernetic.policy_damping force row level security;
create policy tenant_isolation on cybernetic.policy_damping
  using (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid))
  with check (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));
create policy system_all on cybernetic.policy_damping to cybernetic_system using (true) with check (true);
grant select, insert, update, delete on cybernetic.policy_damping to cybernetic_app;
grant select, insert, update, delete on cybernetic.policy_damping to cybernetic_system;

create index policy_evaluations_policy_idx on cybernetic.policy_evaluations (tenant_id, policy_id, event_id desc);

create table cybernetic.alerts (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references cybernetic.tenants on delete cascade,
  unit_id uuid not null,
  level_unit_id uuid not null,
  severity text not null check (severity in ('pain', 'pleasure')),
  message text not null check (char_length(message) between 1 and 4000),
  source jsonb not null default '{}' check (jsonb_typeof(source) = 'object'),
  key text not null check (char_length(key) between 1 and 300),
  status text not null default 'raised' check (status in ('raised', 'acknowledged', 'resolved')),
  escalation_step integer not null default 0 check (escalation_step between 0 and 8),
  next_escalation_at timestamptz,
  escalations jsonb not null default '[]' check (jsonb_typeof(escalations) = 'array'),
  raised_at timestamptz not null,
  acknowledged_at timestamptz,
  acknowledged_by jsonb,
  resolved_at timestamptz,
  resolved_by jsonb,
  note text check (char_length(note) <= 2000),
  updated_at timestamptz not null,
  unique (tenant_id, key),
  foreign key (tenant_id, unit_id) references cybernetic.units (tenant_id, id) on delete cascade,
  foreign key (tenant_id, level_unit_id) references cybernetic.units (tenant_id, id) on delete cascade,
  check (status = 'raised' or next_escalation_at is null)
);
create index alerts_tenant_raised_idx on cybernetic.alerts (tenant_id, raised_at desc, id desc);
create index alerts_tenant_status_idx on cybernetic.alerts (tenant_id, status, raised_at desc, id desc);
create index alerts_due_idx on cybernetic.alerts (next_escalation_at) where next_escalation_at is not null;

alter table cybernetic.alerts enable row level security;
alter table cybernetic.alerts force row level security;
create policy tenant_isolation on cybernetic.alerts
  using (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid))
  with check (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));
create policy system_all on cybernetic.alerts to cybernetic_system using (true) with check (true);
-- Alerts are a record: resolved, never deleted.
grant select, insert, update on cybernetic.alerts to cybernetic_app;
grant select, insert, update, delete on cybernetic.alerts to cybernetic_system;

-- Alerts due to climb at p_now, across tenants, the longest overdue first (the escalation job).
create function cybernetic.due_alerts(p_now timestamptz, p_limit integer default 500)
returns table (tenant_id uuid, id uuid, escalation_step integer)
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select a.tenant_id, a.id, a.escalation_step from cybernetic.alerts a
   where a.next_escalation_at is not null and a.next_escalation_at <= p_now and a.status = 'raised'
   order by a.next_escalation_at
   limit greatest(1, least(p_limit, 10000))
$$;

do $$
begin
  if not (select rolsuper from pg_roles where rolname = current_user) then
    execute format('grant cybernetic_system to %I', current_user);
  end if;
  alter function cybernetic.due_alerts(timestamptz, integer) owner to cybernetic_system;
  revoke all on function cybernetic.due_alerts(timestamptz, integer) from public;
  grant execute on function cybernetic.due_alerts(timestamptz, integer) to cybernetic_app;
  if not (select rolsuper from pg_roles where rolname = current_user) then
    execute format('revoke cybernetic_system from %I', current_user);
  end if;
end
$$;
`;
