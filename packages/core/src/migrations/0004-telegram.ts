/**
 * Telegram: the webhook's inbox, per-chat state, the per-chat rate limit and outgoing pacing.
 *
 * - `telegram_updates` (the deduplication table of 0001) becomes the inbox: the webhook's transaction
 *   stores each update once, with its kind, chat and what happens to it (`queued` for a job, `slow_down`
 *   for a job that only answers "slow down", `limited`, `ignored`; the job then sets `processed` or
 *   `failed`). The payload is kept only until the update is processed.
 * - `telegram_chats`: one row per chat the bot has talked in. Processing an update locks its chat's row
 *   first, so one chat's updates never run at the same time, whatever pg-boss does.
 * - `telegram_chat_limits`: the per-chat token bucket of incoming updates, shared by every gateway.
 * - `telegram_send_pacing`: when each bot, chat and group may next be sent a message (GCRA "theoretical
 *   arrival times"), shared by every worker. Not tenant data (a bot may serve several tenants), so no
 *   role reads it directly: `telegram_reserve_send` is the only way in.
 */
export const up = `
alter table cybernetic.telegram_updates
  add column kind text not null default 'unknown' check (kind ~ '^[a-z_]{1,40}$'),
  add column chat_id bigint,
  add column status text not null default 'ignored'
    check (status in ('queued', 'slow_down', 'limited', 'ignored', 'processed', 'failed')),
  add column reason text check (char_length(reason) <= 300),
  add column payload jsonb check (payload is null or jsonb_typeof(payload) = 'object'),
  add column attempts integer not null default 0,
  add column error text check (char_length(error) <= 2000),
  add column processed_at timestamptz;
-- What a chat's next job looks for: its waiting updates, in update_id order.
create index telegram_updates_waiting_idx on cybernetic.telegram_updates (tenant_id, chat_id, update_id)
  where status in ('queued', 'slow_down');

create table cybernetic.telegram_chats (
  tenant_id uuid not null references cybernetic.tenants on delete cascade,
  chat_id bigint not null,
  type text check (char_length(type) <= 40),
  title text check (char_length(title) <= 300),
  -- The bot's own membership (my_chat_member): creator, administrator, member, restricted, left, kicked.
  bot_status text check (char_length(bot_status) <= 40),
  last_update_id bigint,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, chat_id)
);

create table cybernetic.telegram_chat_limits (
  tenant_id uuid not null references cybernetic.tenants on delete cascade,
  chat_id bigint not null,
  tokens double precision not null check (tokens >= 0),
  refilled_at timestamptz not null,
  -- Whether the latest update was let through (what telegram_receive's one upsert decided).
  allowed boolean not null default true,
  -- The last "slow down" reply: at most one per window.
  warned_at timestamptz,
  primary key (tenant_id, chat_id)
);
create index telegram_chat_limits_refilled_idx on cybernetic.telegram_chat_limits (refilled_at);

do $$
declare
  t text;
begin
  foreach t in array array['telegram_chats', 'telegram_chat_limits'] loop
    execute format('alter table cybernetic.%I enable row level security', t);
    execute format('alter table cybernetic.%I force row level security', t);
    execute format($p$create policy tenant_isolation on cybernetic.%I
      using (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid))
      with check (tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid))$p$, t);
    execute format('create policy system_all on cybernetic.%I to cybernetic_system using (true) with check (true)', t);
    execute format('grant select, insert, update, delete on cybernetic.%I to cybernetic_app', t);
    execute format('grant select, insert, update, delete on cybernetic.%I to cybernetic_system', t);
  end loop;
end
$$;

create table cybernetic.telegram_send_pacing (
  key text primary key check (char_length(key) between 1 and 200),
  tat timestamptz not null
);
create index telegram_send_pacing_tat_idx on cybernetic.telegram_send_pacing (tat);
grant select, insert, update, delete on cybernetic.telegram_send_pacing to cybernetic_system;

-- The webhook's acknowledgement, in the caller's tenant transaction (SECURITY INVOKER: row-level
-- security applies). One round trip and two writes: a re-sent update is found first and stops there,
-- before it can spend a token; then the chat's bucket is refilled and, when it holds a token, spent,
-- in one upsert; then the update is stored with what became of it. (Two copies of one update arriving
-- at the same instant may both spend a token; the second is still stored once, as a duplicate.)
-- Returns: duplicate, ignored, queued (the caller enqueues its job), slow_down (over the limit, and the
-- chat is due one "slow down" reply: the caller enqueues a job for it) or limited (over the limit).
create function cybernetic.telegram_receive(
  p_tenant uuid, p_update_id bigint, p_kind text, p_chat_id bigint, p_handled boolean, p_reason text,
  p_payload jsonb, p_per_minute double precision, p_burst double precision, p_window_seconds double precision)
returns text
language plpgsql volatile set search_path = pg_catalog, pg_temp as $$
declare
  v_status text := 'queued';
begin
  perform 1 from cybernetic.telegram_updates u where u.tenant_id = p_tenant and u.update_id = p_update_id;
  if found then
    return 'duplicate';
  end if;
  if not p_handled then
    v_status := 'ignored';
  elsif p_chat_id is not null then
    insert into cybernetic.telegram_chat_limits as b (tenant_id, chat_id, tokens, refilled_at, allowed)
    values (p_tenant, p_chat_id, p_burst - 1, now(), true)
    on conflict (tenant_id, chat_id) do update
      set tokens = case when b.tokens + greatest(0, extract(epoch from now() - b.refilled_at)) * p_per_minute / 60 >= 1
                        then least(p_burst, b.tokens + greatest(0, extract(epoch from now() - b.refilled_at)) * p_per_minute / 60) - 1
                        else b.tokens + greatest(0, extract(epoch from now() - b.refilled_at)) * p_per_minute / 60 end,
          allowed = b.tokens + greatest(0, extract(epoch from now() - b.refilled_at)) * p_per_minute / 60 >= 1,
          warned_at = case when b.tokens + greatest(0, extract(epoch from now() - b.refilled_at)) * p_per_minute / 60 < 1
                            and (b.warned_at is null or b.warned_at <= now() - make_interval(secs => p_window_seconds))
                           then now() else b.warned_at end,
          refilled_at = greatest(b.refilled_at, now())
    returning case when b.allowed then 'queued' when b.warned_at = now() then 'slow_down' else 'limited' end
      into v_status;
  end if;
  insert into cybernetic.telegram_updates (tenant_id, update_id, kind, chat_id, status, reason, payload)
  values (p_tenant, p_update_id, p_kind, p_chat_id, v_status,
          case v_status when 'queued' then null when 'ignored' then p_reason else 'rate_limited' end,
          case when v_status = 'queued' then p_payload end)
  on conflict (tenant_id, update_id) do nothing;
  if not found then
    return 'duplicate';
  end if;
  return v_status;
end
$$;
revoke all on function cybernetic.telegram_receive(uuid, bigint, text, bigint, boolean, text, jsonb,
  double precision, double precision, double precision) from public;
grant execute on function cybernetic.telegram_receive(uuid, bigint, text, bigint, boolean, text, jsonb,
  double precision, double precision, double precision) to cybernetic_app;

-- Outgoing pacing (GCRA): each key (a bot, a chat, a group) has a theoretical arrival time; a send at t
-- is allowed when t >= tat - interval * (burst - 1), and moves tat to max(tat, t) + interval. A send must
-- satisfy every key it touches, so the earliest t for all of them is found first, under row locks taken
-- in key order (no deadlock between senders), and then all of them are reserved at that t. Returns the
-- milliseconds to wait before sending. When that is more than p_max_wait_ms nothing is reserved (the
-- caller tries again later instead of holding a slot it would not use).
create function cybernetic.telegram_reserve_send(
  p_keys text[], p_interval_ms double precision[], p_burst integer[], p_max_wait_ms double precision)
returns double precision
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_now timestamptz := clock_timestamp();
  v_at timestamptz := v_now;
  v_tat timestamptz;
  v_wait double precision;
  n integer := coalesce(array_length(p_keys, 1), 0);
begin
  if n = 0 or n > 10 or coalesce(array_length(p_interval_ms, 1), 0) <> n
     or coalesce(array_length(p_burst, 1), 0) <> n then
    raise exception 'telegram_reserve_send: 1 to 10 keys, each with an interval and a burst'
      using errcode = '22023';
  end if;
  insert into cybernetic.telegram_send_pacing (key, tat)
    select k, '-infinity'::timestamptz from unnest(p_keys) k order by k
    on conflict (key) do nothing;
  perform 1 from cybernetic.telegram_send_pacing where key = any(p_keys) order by key for update;
  for i in 1..n loop
    select tat into v_tat from cybernetic.telegram_send_pacing where key = p_keys[i];
    v_at := greatest(v_at,
      v_tat - make_interval(secs => greatest(0, p_interval_ms[i]) * greatest(0, p_burst[i] - 1) / 1000.0));
  end loop;
  v_wait := greatest(0, extract(epoch from v_at - v_now) * 1000);
  if v_wait > p_max_wait_ms then
    return v_wait;
  end if;
  for i in 1..n loop
    update cybernetic.telegram_send_pacing
       set tat = greatest(tat, v_at) + make_interval(secs => greatest(0, p_interval_ms[i]) / 1000.0)
     where key = p_keys[i];
  end loop;
  return v_wait;
end
$$;

-- Housekeeping: pacing rows whose time has passed (an absent row paces the same), and chat buckets idle
-- since p_before (refilled by now).
create function cybernetic.purge_telegram_state(p_before timestamptz)
returns integer
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp as $$
declare
  v_pacing integer;
  v_limits integer;
begin
  delete from cybernetic.telegram_send_pacing p where p.tat < now();
  get diagnostics v_pacing = row_count;
  delete from cybernetic.telegram_chat_limits l where l.refilled_at < p_before;
  get diagnostics v_limits = row_count;
  return v_pacing + v_limits;
end
$$;

do $$
declare
  f text;
begin
  if not (select rolsuper from pg_roles where rolname = current_user) then
    execute format('grant cybernetic_system to %I', current_user);
  end if;
  foreach f in array array['telegram_reserve_send(text[], double precision[], integer[], double precision)',
                           'purge_telegram_state(timestamptz)'] loop
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
