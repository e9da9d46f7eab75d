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

/** `cybernetic.system_states` */
export interface SystemStatesTable {
  tenant_id: string;
  system: number;
  state: JSONColumnType<JsonObject, string | undefined, string>;
  version: Generated<number>;
  updated_at: UpdatedAt;
}

/** `cybernetic.system_state_history` */
export interface SystemStateHistoryTable {
  id: Generated<string>;
  tenant_id: string;
  system: number;
  version: number;
  state: JSONColumnType<JsonObject, string, never>;
  changed_at: CreatedAt;
}

/** `cybernetic.episodes` */
export interface EpisodesTable {
  id: Generated<string>;
  tenant_id: string;
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

/** `cybernetic.telegram_updates`: Telegram's update ids already seen, for deduplication. */
export interface TelegramUpdatesTable {
  tenant_id: string;
  update_id: ColumnType<string, string | number, never>;
  received_at: CreatedAt;
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

/**
 * Every table of schema `cybernetic`, keyed as Kysely expects: queries name tables without the schema
 * (`createDatabase` applies `withSchema("cybernetic")`; inside `withTenant` the transaction's search_path
 * does).
 */
export interface Database {
  tenants: TenantsTable;
  api_keys: ApiKeysTable;
  system_states: SystemStatesTable;
  system_state_history: SystemStateHistoryTable;
  episodes: EpisodesTable;
  policies: PoliciesTable;
  artifacts: ArtifactsTable;
  events: EventsTable;
  telegram_updates: TelegramUpdatesTable;
  notifications: NotificationsTable;
  policy_evaluations: PolicyEvaluationsTable;
  event_consumers: EventConsumersTable;
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
  system_states: {
    tenant_id: c("uuid", false),
    system: c("int2", false),
    state: c("jsonb", false),
    version: c("int4", false),
    updated_at: c("timestamptz", false),
  },
  system_state_history: {
    id: c("int8", false),
    tenant_id: c("uuid", false),
    system: c("int2", false),
    version: c("int4", false),
    state: c("jsonb", false),
    changed_at: c("timestamptz", false),
  },
  episodes: {
    id: c("uuid", false),
    tenant_id: c("uuid", false),
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
};
