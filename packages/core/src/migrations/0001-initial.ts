/**
 * The initial schema: tables, constraints, indexes, the two roles, forced row-level security, the
 * outbox publisher and the narrow cross-tenant functions.
 *
 * Roles (cluster-wide, created if missing):
 * - `cybernetic_app`: what the application runs as (login roles are granted membership, see
 *   `ensureRuntimeRole`). Not the owner, not superuser, no BYPASSRLS: it sees one tenant's rows, the
 *   one named by `app.tenant_id` in the current transaction, and nothing when none is set.
 * - `cybernetic_system`: NOLOGIN. It owns the few SECURITY DEFINER functions that must cross tenants
 *   (resolving an API key by its hash, reading the published outbox, listing tenants, finding a tenant by
 *   slug) and has a policy that lets it see all rows. Nobody logs in as it; the app role may only call
 *   those functions, each returning exactly what its caller needs.
 * The owner (whoever runs migrations) has no policy of its own: with FORCE ROW LEVEL SECURITY it too sees
 * only the tenant named in `app.tenant_id`.
 */
export const up = String.raw`
-- Roles. CREATE ROLE has no IF NOT EXISTS, and two databases of one cluster may migrate at once.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'cybernetic_app') then
    begin
      create role cybernetic_app nologin nosuperuser nocreatedb nocreaterole nobypassrls;
    exception when duplicate_object then null;
    end;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'cybernetic_system') then
    begin
      create role cybernetic_system nologin nosuperuser nocreatedb nocreaterole nobypassrls;
    exception when duplicate_object then null;
    end;
  end if;
  -- The migrating role must be able to hand functions to cybernetic_system: ALTER ... OWNER needs SET on
  -- the new owner. A CREATEROLE creator on PostgreSQL 16+ holds only ADMIN on roles it created, so grant
  -- membership explicitly (a no-op notice when it is already a member).
  if not (select rolsuper from pg_roles where rolname = current_user) then
    execute format('grant cybernetic_system to %I', current_user);
  end if;
end
$$;

create schema if not exists cybernetic;
grant usage on schema cybernetic to cybernetic_app, cybernetic_system;
-- ALTER FUNCTION ... OWNER TO needs the new owner to have CREATE on the schema.
grant create on schema cybernetic to cybernetic_system;

-- Tenants ---------------------------------------------------------------------------------------------
create table cybernetic.tenants (
  id uuid primary key,
  name text not null check (char_length(name) between 1 and 200),
  slug text not null unique
    check (char_length(slug) <= 63 and slug ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$'),
  settings jsonb not null default '{}' check (jsonb_typeof(settings) = 'object'),
  active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table cybernetic.api_keys (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references cybernetic.tenants on delete cascade,
  name text not null check (char_length(name) between 1 and 200),
  prefix text not null,
  key_hash bytea not null unique check (octet_length(key_hash) = 32),
  scopes text[] not null default '{}',
  expires_at timestamptz,
  revoked_at timestamptz,
  last_used_at timestamptz,
  created_at timestamptz not null default now()
);
create index api_keys_tenant_idx on cybernetic.api_keys (tenant_id, created_at desc);

-- System states (S1..S5) --------------------------------------------------------------------------------
create table cybernetic.system_states (
  tenant_id uuid not null references cybernetic.tenants on delete cascade,
  system smallint not null check (system between 1 and 5),
  state jsonb not null default '{}' check (jsonb_typeof(state) = 'object'),
  version integer not null default 1 check (version >= 1),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, system)
);

create table cybernetic.system_state_history (
  id bigint generated always as identity primary key,
  tenant_id uuid not null references cybernetic.tenants on delete cascade,
  system smallint not null check (system between 1 and 5),
  version integer not null,
  state jsonb not null,
  changed_at timestamptz not null default now(),
  unique (tenant_id, system, version)
);

-- Episodes (S4) -------------------------------------------------------------------------------------------
create table cybernetic.episodes (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references cybernetic.tenants on delete cascade,
  title text not null check (char_length(title) between 1 and 500),
  content text not null check (char_length(content) <= 1000000),
  source text not null default 'api' check (char_length(source) between 1 and 100),
  source_id text check (char_length(source_id) between 1 and 200),
  tags text[] not null default '{}' check (cardinality(tags) <= 50),
  status text not null default 'pending' check (status in ('pending', 'analyzing', 'complete', 'failed')),
  analysis jsonb,
  error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  analyzed_at timestamptz,
  -- NULL source_ids are distinct, so only episodes that carry one are deduplicated.
  unique (tenant_id, source, source_id)
);
create index episodes_tenant_created_idx on cybernetic.episodes (tenant_id, created_at desc, id desc);
create index episodes_tenant_status_idx on cybernetic.episodes (tenant_id, status, created_at desc, id desc);
create index episodes_tags_idx on cybernetic.episodes using gin (tags);

-- Policies (S5) -------------------------------------------------------------------------------------------
create table cybernetic.policies (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references cybernetic.tenants on delete cascade,
  name text not null check (char_length(name) between 1 and 200),
  description text not null default '' check (char_length(description) <= 2000),
  rules jsonb not null check (jsonb_typeof(rules) = 'object'),
  priority integer not null default 100 check (priority between 0 and 1000),
  active boolean not null default true,
  effective_from timestamptz,
  effective_until timestamptz,
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (tenant_id, name),
  check (effective_from is null or effective_until is null or effective_from <= effective_until)
);
create index policies_tenant_priority_idx on cybernetic.policies (tenant_id, active, priority desc, created_at);

-- Artifacts -----------------------------------------------------------------------------------------------
create table cybernetic.artifacts (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references cybernetic.tenants on delete cascade,
  path text not null check (octet_length(path) between 1 and 1024),
  content_type text not null default 'application/octet-stream',
  size bigint not null check (size >= 0),
  sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
  storage_backend text not null,
  storage_key text not null,
  metadata jsonb not null default '{}' check (jsonb_typeof(metadata) = 'object'),
  expires_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (tenant_id, path)
);
create index artifacts_expires_idx on cybernetic.artifacts (expires_at) where expires_at is not null;

-- The outbox ----------------------------------------------------------------------------------------------
-- A writer inserts (tenant_id, type, data); seq and xid are filled in. The public id stays NULL until
-- cybernetic.publish_events() assigns it. Why not use seq as the id: commit order is not seq order (a
-- transaction holding seq 9 may commit after the one holding seq 10), so a reader that moved past 10 would
-- never see 9. The publisher assigns ids only to events of transactions older than the oldest one still
-- running (their xid below the snapshot's xmin, so no earlier event can still appear) and does so under a
-- lock, in (xid, seq) order: ids are then strictly increasing in the order readers can see them, and
-- "id > cursor" never skips an event.
create table cybernetic.events (
  seq bigint generated always as identity primary key,
  id bigint unique,
  xid xid8 not null default pg_current_xact_id(),
  tenant_id uuid not null references cybernetic.tenants on delete cascade,
  type text not null check (type ~ '^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$'),
  data jsonb not null default '{}',
  created_at timestamptz not null default now()
);
create index events_unpublished_idx on cybernetic.events (seq) where id is null;
create index events_tenant_id_idx on cybernetic.events (tenant_id, id);
create index events_created_idx on cybernetic.events (created_at);

create function cybernetic.notify_outbox() returns trigger
language plpgsql as $$
begin
  -- One notification per statement; identical payloads in one transaction are folded by PostgreSQL.
  perform pg_notify('cybernetic_outbox', '');
  return null;
end
$$;
create trigger events_notify after insert on cybernetic.events
  for each statement execute function cybernetic.notify_outbox();

-- Telegram deduplication and notifications ---------------------------------------------------------------
create table cybernetic.telegram_updates (
  tenant_id uuid not null references cybernetic.tenants on delete cascade,
  update_id bigint not null,
  received_at timestamptz not null default now(),
  primary key (tenant_id, update_id)
);
create index telegram_updates_received_idx on cybernetic.telegram_updates (received_at);

create table cybernetic.notifications (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references cybernetic.tenants on delete cascade,
  channel text not null check (channel in ('telegram', 'webhook', 'event')),
  target text not null,
  payload jsonb not null,
  status text not null default 'pending' check (status in ('pending', 'sending', 'sent', 'failed')),
  attempts integer not null default 0,
  idempotency_key text not null check (char_length(idempotency_key) between 1 and 300),
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  sent_at timestamptz,
  unique (tenant_id, idempotency_key)
);
create index notifications_tenant_status_idx on cybernetic.notifications (tenant_id, status, created_at);

-- Row-level security --------------------------------------------------------------------------------------
-- Every tenant table: RLS enabled and FORCED (the owner is subject to it too). One policy for everyone,
-- scoped to app.tenant_id (no tenant set: NULL, so no rows), and one for cybernetic_system.
-- The (select ...) wrapper makes PostgreSQL evaluate the setting once per statement, not per row.
do $$
declare
  t text;
begin
  foreach t in array array['api_keys', 'system_states', 'system_state_history', 'episodes', 'policies',
                           'artifacts', 'events', 'telegram_updates', 'notifications'] loop
    execute format('alter table cybernetic.%I enable row level security', t);
    execute format('alter table cybernetic.%I force row level security', t);
    execute format($p$create policy tenant_isolation on cybernetic.%I
      using (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid))
      with check (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid))$p$, t);
    execute format('create policy system_all on cybernetic.%I to cybernetic_system using (true) with check (true)', t);
  end loop;
end
$$;
alter table cybernetic.tenants enable row level security;
alter table cybernetic.tenants force row level security;
create policy tenant_isolation on cybernetic.tenants
  using (id = (select nullif(current_setting('app.tenant_id', true), '')::uuid))
  with check (id = (select nullif(current_setting('app.tenant_id', true), '')::uuid));
create policy system_all on cybernetic.tenants to cybernetic_system using (true) with check (true);

-- Grants --------------------------------------------------------------------------------------------------
grant select, insert, update on cybernetic.tenants to cybernetic_app;
grant select, insert, update, delete on cybernetic.api_keys, cybernetic.system_states, cybernetic.episodes,
  cybernetic.policies, cybernetic.artifacts, cybernetic.telegram_updates, cybernetic.notifications
  to cybernetic_app;
-- History and the outbox are append-only for the application.
grant select, insert on cybernetic.system_state_history, cybernetic.events to cybernetic_app;
grant select, insert, update, delete on all tables in schema cybernetic to cybernetic_system;
grant usage on all sequences in schema cybernetic to cybernetic_app, cybernetic_system;

-- Cross-tenant paths: SECURITY DEFINER functions owned by cybernetic_system ---------------------------------
-- Resolve a presented API key by the SHA-256 of the key. Returns at most one row; an exact 32-byte hash is
-- required, so it cannot enumerate keys. Touches last_used_at at most once a minute per key.
create function cybernetic.resolve_api_key(p_hash bytea)
returns table (id uuid, tenant_id uuid, key_hash bytea, scopes text[], expires_at timestamptz,
               revoked_at timestamptz, tenant_active boolean)
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp as $$
begin
  if p_hash is null or octet_length(p_hash) <> 32 then
    return;
  end if;
  update cybernetic.api_keys k set last_used_at = now()
   where k.key_hash = p_hash and k.revoked_at is null
     and (k.last_used_at is null or k.last_used_at < now() - interval '1 minute');
  return query
    select k.id, k.tenant_id, k.key_hash, k.scopes, k.expires_at, k.revoked_at, t.active
      from cybernetic.api_keys k join cybernetic.tenants t on t.id = k.tenant_id
     where k.key_hash = p_hash;
end
$$;

-- Assign public ids to committed events, oldest transaction first. Returns the highest id assigned (NULL
-- when nothing was ready) and notifies 'cybernetic_events' on commit.
create function cybernetic.publish_events(p_limit integer default 1000)
returns bigint
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_base bigint;
  v_last bigint;
begin
  -- Serialise publishers. Each statement below takes a fresh snapshot (READ COMMITTED, volatile
  -- function), so a publisher that waited here sees what the previous one committed.
  perform pg_advisory_xact_lock(hashtext('cybernetic.publish_events'));
  select coalesce(max(e.id), 0) into v_base from cybernetic.events e;
  with ready as (
    select e.seq, row_number() over (order by e.xid, e.seq) as n
      from cybernetic.events e
     where e.id is null
       and e.xid < pg_snapshot_xmin(pg_current_snapshot())
     order by e.xid, e.seq
     limit greatest(1, least(p_limit, 10000))
  ), assigned as (
    update cybernetic.events e set id = v_base + ready.n
      from ready where e.seq = ready.seq
    returning e.id
  )
  select max(assigned.id) into v_last from assigned;
  if v_last is not null then
    perform pg_notify('cybernetic_events', v_last::text);
  end if;
  return v_last;
end
$$;

-- How many events are waiting for publication (a publisher retries while this is not zero).
create function cybernetic.unpublished_events()
returns bigint
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select count(*) from cybernetic.events e where e.id is null
$$;

-- Published events after a cursor, in id order, across tenants (one LISTEN connection per process fans
-- them out to its local subscribers, each of which sees only its own tenant).
create function cybernetic.read_events(p_after bigint, p_limit integer default 500)
returns table (id bigint, tenant_id uuid, type text, data jsonb, created_at timestamptz)
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select e.id, e.tenant_id, e.type, e.data, e.created_at
    from cybernetic.events e
   where e.id > p_after
   order by e.id
   limit greatest(1, least(p_limit, 10000))
$$;

-- The lowest and highest published ids (a resume cursor below the lowest gets a resync).
create function cybernetic.event_bounds()
returns table (min_id bigint, max_id bigint)
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select min(e.id), max(e.id) from cybernetic.events e where e.id is not null
$$;

-- The admin API's tenant list (keyset-paginated by slug).
create function cybernetic.list_tenants(p_after_slug text, p_limit integer)
returns setof cybernetic.tenants
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select * from cybernetic.tenants t
   where p_after_slug is null or t.slug > p_after_slug
   order by t.slug
   limit greatest(1, least(p_limit, 1000))
$$;

-- Find a tenant's id by its slug (Telegram webhooks name the tenant by slug).
create function cybernetic.tenant_id_by_slug(p_slug text)
returns uuid
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select t.id from cybernetic.tenants t where t.slug = p_slug
$$;

do $$
declare
  f text;
begin
  foreach f in array array['resolve_api_key(bytea)', 'publish_events(integer)', 'unpublished_events()',
                           'read_events(bigint, integer)', 'event_bounds()', 'list_tenants(text, integer)',
                           'tenant_id_by_slug(text)'] loop
    execute format('alter function cybernetic.%s owner to cybernetic_system', f);
    execute format('revoke all on function cybernetic.%s from public', f);
    execute format('grant execute on function cybernetic.%s to cybernetic_app', f);
  end loop;
  -- Membership was needed only to hand the functions over. Kept, it would let the owner inherit
  -- cybernetic_system's all-rows policy; drop it so that FORCE ROW LEVEL SECURITY binds the owner too.
  if not (select rolsuper from pg_roles where rolname = current_user) then
    execute format('revoke cybernetic_system from %I', current_user);
  end if;
end
$$;
`;
