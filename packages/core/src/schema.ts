/**
 * The database as Kysely sees it. It must match the migrations exactly: `schemaColumns` below describes
 * every column at run time, the compiler checks it against these interfaces, and a test checks it against
 * `information_schema` after migrating, so the three cannot drift.
 */
import type { ColumnType, Generated, JSONColumnType } from "kysely";

/** A `timestamptz` column the database fills in. */
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
/** A `timestamptz` column that may be written. */
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
/** A nullable `timestamptz` column. */
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** Any JSON value stored in a `jsonb` column. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
/** A JSON object stored in a `jsonb` column. */
export type JsonObject = { [key: string]: Json };

/** `cybernetic.tenants` */
export interface TenantsTable {
  id: string;
  name: string;
  slug: string;
  settings: JSONColumnType<JsonObject, string | undefined, string>;
  active: Generated<boolean>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** `cybernetic.api_keys` */
export interface ApiKeysTable {
  id: Generated<string>;
  tenant_id: string;
  name: string;
  prefix: string;
  key_hash: Buffer;
  scopes: string[];
  expires_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
  last_used_at: NullableTimestamp;
  created_at: CreatedAt;
}

/** `cybernetic.units`: the tree of viable units; the root (no parent) is the tenant itself. */
export interface UnitsTable {
  id: Generated<string>;
  tenant_id: string;
  parent_id: string | null;
  name: string;
  slug: string;
  /** Ids from the root down to this unit. */
  path: string[];
  depth: number;
  alerts: JSONColumnType<Json[], string | undefined, string>;
  escalation_seconds: Generated<number>;
  state_interval_seconds: ColumnType<number | null, number | null | undefined, number | null>;
  archived_at: NullableTimestamp;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** `cybernetic.system_states` */
export interface SystemStatesTable {
  tenant_id: string;
  /** The unit whose state it is (the root unit when the writer names none). */
  unit_id: Generated<string>;
  system: number;
  state: JSONColumnType<JsonObject, string | undefined, string>;
  version: Generated<number>;
  updated_at: UpdatedAt;
}

/** `cybernetic.system_state_history` */
export interface SystemStateHistoryTable {
  id: Generated<string>;
  tenant_id: string;
  unit_id: Generated<string>;
  system: number;
  version: number;
  state: JSONColumnType<JsonObject, string, never>;
  changed_at: CreatedAt;
}

/** `cybernetic.episodes` */
export interface EpisodesTable {
  id: Generated<string>;
  tenant_id: string;
  unit_id: Generated<string>;
  title: string;
  content: string;
  source: Generated<string>;
  source_id: string | null;
  tags: Generated<string[]>;
  status: Generated<string>;
  analysis: JSONColumnType<JsonObject | null, string | null | undefined, string | null>;
  error: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  analyzed_at: NullableTimestamp;
}

/** `cybernetic.policies` */
export interface PoliciesTable {
  id: Generated<string>;
  tenant_id: string;
  unit_id: Generated<string>;
  name: string;
  description: Generated<string>;
  rules: JSONColumnType<JsonObject, string, string>;
  priority: Generated<number>;
  active: Generated<boolean>;
  effective_from: NullableTimestamp;
  effective_until: NullableTimestamp;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** `cybernetic.artifacts` */
export interface ArtifactsTable {
  id: Generated<string>;
  tenant_id: string;
  unit_id: Generated<string>;
  path: string;
  content_type: string;
  /** bigint: pg returns it as a decimal string. */
  size: ColumnType<string, string | number, string | number>;
  sha256: string;
  storage_backend: string;
  storage_key: string;
  metadata: JSONColumnType<JsonObject, string | undefined, string>;
  expires_at: NullableTimestamp;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** `cybernetic.events`: the outbox. */
export interface EventsTable {
  /** Insertion order; internal. */
  seq: Generated<string>;
  /** Public, commit-safe id; null until the publisher assigns it (see migrations). */
  id: ColumnType<string | null, never, never>;
  /** The writing transaction (xid8), filled by the database. */
  xid: ColumnType<string, never, never>;
  tenant_id: string;
  type: string;
  data: JSONColumnType<JsonObject, string, never>;
  created_at: CreatedAt;
}

/**
 * `cybernetic.telegram_updates`: every update the webhook acknowledged, once (deduplication by
 * `update_id`), and what became of it; the inbox the `telegram.update` job reads in `update_id` order.
 */
export interface TelegramUpdatesTable {
  tenant_id: string;
  update_id: ColumnType<string, string | number, never>;
  received_at: CreatedAt;
  /** A key of `telegramUpdateKinds`, or `unknown`. */
  kind: Generated<string>;
  /** bigint: pg returns it as a decimal string. */
  chat_id: ColumnType<string | null, string | number | null | undefined, never>;
  /** queued | slow_down | limited | ignored | processed | failed */
  status: Generated<string>;
  reason: string | null;
  /** The update itself, until it is processed. */
  payload: JSONColumnType<JsonObject | null, string | null | undefined, string | null>;
  attempts: Generated<number>;
  error: string | null;
  processed_at: NullableTimestamp;
}

/** `cybernetic.telegram_chats`: the chats the bot talks in; processing an update locks its chat's row. */
export interface TelegramChatsTable {
  tenant_id: string;
  chat_id: ColumnType<string, string | number, never>;
  type: string | null;
  title: string | null;
  bot_status: string | null;
  last_update_id: ColumnType<string | null, string | number | null | undefined, string | number | null>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** `cybernetic.telegram_chat_limits`: each chat's token bucket of incoming updates. */
export interface TelegramChatLimitsTable {
  tenant_id: string;
  chat_id: ColumnType<string, string | number, never>;
  tokens: number;
  refilled_at: UpdatedAt;
  /** Whether the latest update was let through. */
  allowed: Generated<boolean>;
  warned_at: NullableTimestamp;
}

/**
 * `cybernetic.telegram_send_pacing`: when each bot, chat and group may next be sent a message. No
 * application role may read it: `cybernetic.telegram_reserve_send()` is the way in.
 */
export interface TelegramSendPacingTable {
  key: string;
  tat: ColumnType<Date, Date | string, Date | string>;
}

/** `cybernetic.notifications` */
export interface NotificationsTable {
  id: Generated<string>;
  tenant_id: string;
  channel: string;
  target: string;
  payload: JSONColumnType<JsonObject, string, string>;
  status: Generated<string>;
  attempts: Generated<number>;
  idempotency_key: string;
  last_error: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  sent_at: NullableTimestamp;
}

/** `cybernetic.policy_evaluations`: one row per (event, policy) evaluated. */
export interface PolicyEvaluationsTable {
  tenant_id: string;
  event_id: ColumnType<string, string | number, never>;
  policy_id: string;
  matched: boolean;
  outcome: JSONColumnType<JsonObject, string | undefined, never>;
  evaluated_at: CreatedAt;
}

/** `cybernetic.event_consumers`: durable outbox cursors (not tenant data). */
export interface EventConsumersTable {
  name: string;
  last_id: ColumnType<string, string | number | undefined, string | number>;
  updated_at: UpdatedAt;
}

/** `cybernetic.idempotency_keys`: POSTs retried with an `Idempotency-Key` (see services/idempotency). */
export interface IdempotencyKeysTable {
  tenant_id: string;
  key: string;
  fingerprint: Buffer;
  locked_until: NullableTimestamp;
  committed_at: NullableTimestamp;
  response_status: ColumnType<number | null, number | null | undefined, number | null>;
  response_body: ColumnType<Json | null, string | null | undefined, string | null>;
  created_at: CreatedAt;
  completed_at: NullableTimestamp;
}

/** `cybernetic.policy_damping`: S2's memory of each damped policy (`for`, `cooldown`). */
export interface PolicyDampingTable {
  tenant_id: string;
  policy_id: string;
  pending_since: NullableTimestamp;
  firing: Generated<boolean>;
  last_fired_at: NullableTimestamp;
  last_event_id: ColumnType<string, string | number | undefined, string | number>;
  suppressed: JSONColumnType<Record<string, number>, string | undefined, string>;
  updated_at: UpdatedAt;
}

/** `cybernetic.audits`: S3* audits, each written whole with its findings. */
export interface AuditsTable {
  id: Generated<string>;
  tenant_id: string;
  unit_id: string;
  trigger: string;
  started_at: ColumnType<Date, Date | string, never>;
  finished_at: ColumnType<Date, Date | string, never>;
  summary: JSONColumnType<JsonObject, string | undefined, never>;
}

/** `cybernetic.audit_findings`: what an audit found. */
export interface AuditFindingsTable {
  id: Generated<string>;
  tenant_id: string;
  audit_id: string;
  unit_id: string;
  check_name: string;
  severity: string;
  subject: JSONColumnType<JsonObject, string, never>;
  message: string;
  details: JSONColumnType<JsonObject, string | undefined, never>;
  created_at: CreatedAt;
}

/** `cybernetic.indicators`: a unit's measures (Beer's triple index). */
export interface IndicatorsTable {
  id: Generated<string>;
  tenant_id: string;
  unit_id: string;
  name: string;
  unit_of_measure: Generated<string>;
  detector: JSONColumnType<JsonObject, string | undefined, string>;
  detector_state: JSONColumnType<JsonObject, string | undefined, string>;
  latest_at: NullableTimestamp;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** `cybernetic.indicator_targets`: capability and potentiality, each effective from a moment. */
export interface IndicatorTargetsTable {
  tenant_id: string;
  indicator_id: string;
  effective_from: ColumnType<Date, Date | string, never>;
  capability: number;
  potentiality: number;
  created_at: CreatedAt;
}

/** `cybernetic.indicator_readings`: actuality with its indices and the detector's verdict. */
export interface IndicatorReadingsTable {
  tenant_id: string;
  indicator_id: string;
  at: ColumnType<Date, Date | string, never>;
  actuality: number;
  capability: number;
  potentiality: number;
  productivity: number;
  latency: number;
  performance: number;
  smoothed: number;
  forecast: number | null;
  lower: number | null;
  upper: number | null;
  status: string;
  direction: string | null;
  created_at: CreatedAt;
}

/** `cybernetic.alerts`: algedonic alerts and their climb up the unit tree. */
export interface AlertsTable {
  id: Generated<string>;
  tenant_id: string;
  unit_id: string;
  level_unit_id: string;
  severity: string;
  message: string;
  source: JSONColumnType<JsonObject, string | undefined, string>;
  key: string;
  status: Generated<string>;
  escalation_step: Generated<number>;
  next_escalation_at: NullableTimestamp;
  escalations: JSONColumnType<Json[], string | undefined, string>;
  raised_at: ColumnType<Date, Date | string, Date | string>;
  acknowledged_at: NullableTimestamp;
  acknowledged_by: JSONColumnType<JsonObject | null, string | null | undefined, string | null>;
  resolved_at: NullableTimestamp;
  resolved_by: JSONColumnType<JsonObject | null, string | null | undefined, string | null>;
  note: string | null;
  updated_at: ColumnType<Date, Date | string, Date | string>;
}

/**
 * Every table of schema `cybernetic`, keyed as Kysely expects: queries name tables without the schema
 * (`createDatabase` applies `withSchema("cybernetic")`; inside `withTenant` the transaction's search_path
 * does).
 */
export interface Database {
  tenants: TenantsTable;
  units: UnitsTable;
  api_keys: ApiKeysTable;
  system_states: SystemStatesTable;
  system_state_history: SystemStateHistoryTable;
  episodes: EpisodesTable;
  policies: PoliciesTable;
  artifacts: ArtifactsTable;
  events: EventsTable;
  telegram_updates: TelegramUpdatesTable;
  telegram_chats: TelegramChatsTable;
  telegram_chat_limits: TelegramChatLimitsTable;
  telegram_send_pacing: TelegramSendPacingTable;
  notifications: NotificationsTable;
  policy_evaluations: PolicyEvaluationsTable;
  event_consumers: EventConsumersTable;
  idempotency_keys: IdempotencyKeysTable;
  alerts: AlertsTable;
  policy_damping: PolicyDampingTable;
  audits: AuditsTable;
  audit_findings: AuditFindingsTable;
  indicators: IndicatorsTable;
  indicator_targets: IndicatorTargetsTable;
  indicator_readings: IndicatorReadingsTable;
}

/** A column as `information_schema` reports it (`udt_name`) and whether it accepts null. */
export interface ColumnSpec {
  type: string;
  nullable: boolean;
}

type SelectType<C> = C extends ColumnType<infer S, infer _I, infer _U> ? S : C;
type SpecFor<C> =
  null extends SelectType<C> ? { type: string; nullable: true } : { type: string; nullable: false };

/** The compile-time link: one spec per column of `Database`, nullability included. */
export type SchemaColumns = {
  [T in keyof Database]: { [C in keyof Database[T]]-?: SpecFor<Database[T][C]> };
};

const c = <N extends boolean>(type: string, nullable: N) =>
  ({ type, nullable }) as { type: string; nullable: N };

/** Run-time description of `Database`, compared with the migrated database by a test. */
export const schemaColumns: SchemaColumns = {
  tenants: {
    id: c("uuid", false),
    name: c("text", false),
    slug: c("text", false),
    settings: c("jsonb", false),
    active: c("bool", false),
    created_at: c("timestamptz", false),
    updated_at: c("timestamptz", false),
  },
  api_keys: {
    id: c("uuid", false),
    tenant_id: c("uuid", false),
    name: c("text", false),
    prefix: c("text", false),
    key_hash: c("bytea", false),
    scopes: c("_text", false),
    expires_at: c("timestamptz", true),
    revoked_at: c("timestamptz", true),
    last_used_at: c("timestamptz", true),
    created_at: c("timestamptz", false),
  },
  units: {
    id: c("uuid", false),
    tenant_id: c("uuid", false),
    parent_id: c("uuid", true),
    name: c("text", false),
    slug: c("text", false),
    path: c("_uuid", false),
    depth: c("int2", false),
    alerts: c("jsonb", false),
    escalation_seconds: c("int4", false),
    state_interval_seconds: c("int4", true),
    archived_at: c("timestamptz", true),
    created_at: c("timestamptz", false),
    updated_at: c("timestamptz", false),
  },
  system_states: {
    tenant_id: c("uuid", false),
    unit_id: c("uuid", false),
    system: c("int2", false),
    state: c("jsonb", false),
    version: c("int4", false),
    updated_at: c("timestamptz", false),
  },
  system_state_history: {
    id: c("int8", false),
    tenant_id: c("uuid", false),
    unit_id: c("uuid", false),
    system: c("int2", false),
    version: c("int4", false),
    state: c("jsonb", false),
    changed_at: c("timestamptz", false),
  },
  episodes: {
    id: c("uuid", false),
    tenant_id: c("uuid", false),
    unit_id: c("uuid", false),
    title: c("text", false),
    content: c("text", false),
    source: c("text", false),
    source_id: c("text", true),
    tags: c("_text", false),
    status: c("text", false),
    analysis: c("jsonb", true),
    error: c("text", true),
    created_at: c("timestamptz", false),
    updated_at: c("timestamptz", false),
    analyzed_at: c("timestamptz", true),
  },
  policies: {
    id: c("uuid", false),
    tenant_id: c("uuid", false),
    unit_id: c("uuid", false),
    name: c("text", false),
    description: c("text", false),
    rules: c("jsonb", false),
    priority: c("int4", false),
    active: c("bool", false),
    effective_from: c("timestamptz", true),
    effective_until: c("timestamptz", true),
    version: c("int4", false),
    created_at: c("timestamptz", false),
    updated_at: c("timestamptz", false),
  },
  artifacts: {
    id: c("uuid", false),
    tenant_id: c("uuid", false),
    unit_id: c("uuid", false),
    path: c("text", false),
    content_type: c("text", false),
    size: c("int8", false),
    sha256: c("text", false),
    storage_backend: c("text", false),
    storage_key: c("text", false),
    metadata: c("jsonb", false),
    expires_at: c("timestamptz", true),
    created_at: c("timestamptz", false),
    updated_at: c("timestamptz", false),
  },
  events: {
    seq: c("int8", false),
    id: c("int8", true),
    xid: c("xid8", false),
    tenant_id: c("uuid", false),
    type: c("text", false),
    data: c("jsonb", false),
    created_at: c("timestamptz", false),
  },
  telegram_updates: {
    tenant_id: c("uuid", false),
    update_id: c("int8", false),
    received_at: c("timestamptz", false),
    kind: c("text", false),
    chat_id: c("int8", true),
    status: c("text", false),
    reason: c("text", true),
    payload: c("jsonb", true),
    attempts: c("int4", false),
    error: c("text", true),
    processed_at: c("timestamptz", true),
  },
  telegram_chats: {
    tenant_id: c("uuid", false),
    chat_id: c("int8", false),
    type: c("text", true),
    title: c("text", true),
    bot_status: c("text", true),
    last_update_id: c("int8", true),
    created_at: c("timestamptz", false),
    updated_at: c("timestamptz", false),
  },
  telegram_chat_limits: {
    tenant_id: c("uuid", false),
    chat_id: c("int8", false),
    tokens: c("float8", false),
    refilled_at: c("timestamptz", false),
    allowed: c("bool", false),
    warned_at: c("timestamptz", true),
  },
  telegram_send_pacing: {
    key: c("text", false),
    tat: c("timestamptz", false),
  },
  notifications: {
    id: c("uuid", false),
    tenant_id: c("uuid", false),
    channel: c("text", false),
    target: c("text", false),
    payload: c("jsonb", false),
    status: c("text", false),
    attempts: c("int4", false),
    idempotency_key: c("text", false),
    last_error: c("text", true),
    created_at: c("timestamptz", false),
    updated_at: c("timestamptz", false),
    sent_at: c("timestamptz", true),
  },
  policy_evaluations: {
    tenant_id: c("uuid", false),
    event_id: c("int8", false),
    policy_id: c("uuid", false),
    matched: c("bool", false),
    outcome: c("jsonb", false),
    evaluated_at: c("timestamptz", false),
  },
  event_consumers: {
    name: c("text", false),
    last_id: c("int8", false),
    updated_at: c("timestamptz", false),
  },
  idempotency_keys: {
    tenant_id: c("uuid", false),
    key: c("text", false),
    fingerprint: c("bytea", false),
    locked_until: c("timestamptz", true),
    committed_at: c("timestamptz", true),
    response_status: c("int2", true),
    response_body: c("jsonb", true),
    created_at: c("timestamptz", false),
    completed_at: c("timestamptz", true),
  },
  alerts: {
    id: c("uuid", false),
    tenant_id: c("uuid", false),
    unit_id: c("uuid", false),
    level_unit_id: c("uuid", false),
    severity: c("text", false),
    message: c("text", false),
    source: c("jsonb", false),
    key: c("text", false),
    status: c("text", false),
    escalation_step: c("int4", false),
    next_escalation_at: c("timestamptz", true),
    escalations: c("jsonb", false),
    raised_at: c("timestamptz", false),
    acknowledged_at: c("timestamptz", true),
    acknowledged_by: c("jsonb", true),
    resolved_at: c("timestamptz", true),
    resolved_by: c("jsonb", true),
    note: c("text", true),
    updated_at: c("timestamptz", false),
  },
  policy_damping: {
    tenant_id: c("uuid", false),
    policy_id: c("uuid", false),
    pending_since: c("timestamptz", true),
    firing: c("bool", false),
    last_fired_at: c("timestamptz", true),
    last_event_id: c("int8", false),
    suppressed: c("jsonb", false),
    updated_at: c("timestamptz", false),
  },
  audits: {
    id: c("uuid", false),
    tenant_id: c("uuid", false),
    unit_id: c("uuid", false),
    trigger: c("text", false),
    started_at: c("timestamptz", false),
    finished_at: c("timestamptz", false),
    summary: c("jsonb", false),
  },
  audit_findings: {
    id: c("uuid", false),
    tenant_id: c("uuid", false),
    audit_id: c("uuid", false),
    unit_id: c("uuid", false),
    check_name: c("text", false),
    severity: c("text", false),
    subject: c("jsonb", false),
    message: c("text", false),
    details: c("jsonb", false),
    created_at: c("timestamptz", false),
  },
  indicators: {
    id: c("uuid", false),
    tenant_id: c("uuid", false),
    unit_id: c("uuid", false),
    name: c("text", false),
    unit_of_measure: c("text", false),
    detector: c("jsonb", false),
    detector_state: c("jsonb", false),
    latest_at: c("timestamptz", true),
    created_at: c("timestamptz", false),
    updated_at: c("timestamptz", false),
  },
  indicator_targets: {
    tenant_id: c("uuid", false),
    indicator_id: c("uuid", false),
    effective_from: c("timestamptz", false),
    capability: c("float8", false),
    potentiality: c("float8", false),
    created_at: c("timestamptz", false),
  },
  indicator_readings: {
    tenant_id: c("uuid", false),
    indicator_id: c("uuid", false),
    at: c("timestamptz", false),
    actuality: c("float8", false),
    capability: c("float8", false),
    potentiality: c("float8", false),
    productivity: c("float8", false),
    latency: c("float8", false),
    performance: c("float8", false),
    smoothed: c("float8", false),
    forecast: c("float8", true),
    lower: c("float8", true),
    upper: c("float8", true),
    status: c("text", false),
    direction: c("text", true),
    created_at: c("timestamptz", false),
  },
};
